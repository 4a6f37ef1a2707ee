// lib/domain/branches: where HEAD goes after a push creates branches.
#include <cppunit/extensions/HelperMacros.h>

#include "lib/domain/branches.h"

using namespace kod::domain;

class BranchesTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BranchesTest);
  CPPUNIT_TEST(HeadFollowsTheRuleInOrder);
  CPPUNIT_TEST_SUITE_END();

 public:
  void HeadFollowsTheRuleInOrder() {
    CPPUNIT_ASSERT(!ChooseHeadBranch("main", {}).has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("trunk"), *ChooseHeadBranch("trunk", {"main", "trunk", "a"}));
    CPPUNIT_ASSERT_EQUAL(std::string("main"), *ChooseHeadBranch("trunk", {"master", "main", "a"}));
    CPPUNIT_ASSERT_EQUAL(std::string("master"), *ChooseHeadBranch("main", {"zeta", "master", "alpha"}));
    CPPUNIT_ASSERT_EQUAL(std::string("alpha"), *ChooseHeadBranch("main", {"zeta", "alpha", "beta"}));
    // Byte order: upper case before lower case, and bytes above 0x7f after ASCII.
    CPPUNIT_ASSERT_EQUAL(std::string("Zed"), *ChooseHeadBranch("main", {"alpha", "Zed"}));
    CPPUNIT_ASSERT_EQUAL(std::string("z"), *ChooseHeadBranch("main", {"\xc3\xa9t\xc3\xa9", "z"}));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BranchesTest);
