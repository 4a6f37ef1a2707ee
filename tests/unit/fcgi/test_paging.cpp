// fcgi/paging: ?page/?per_page rules (400 naming the parameter) and the RFC 8288 Link header.
#include <cppunit/extensions/HelperMacros.h>

#include "fcgi/paging.h"

using namespace kod;
using namespace kod::fcgi;

class PagingTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PagingTest);
  CPPUNIT_TEST(NoParametersMeansNoPaging);
  CPPUNIT_TEST(BadValuesNameTheParameter);
  CPPUNIT_TEST(LinksWhereTheyExist);
  CPPUNIT_TEST(OtherParametersAreKept);
  CPPUNIT_TEST_SUITE_END();

  using Opt = std::optional<std::string>;

 public:
  void NoParametersMeansNoPaging() {
    auto none = ParsePageParams(std::nullopt, std::nullopt);
    CPPUNIT_ASSERT(none.ok() && !none->has_value());
    auto only_page = ParsePageParams(Opt("3"), std::nullopt);
    CPPUNIT_ASSERT(only_page.ok() && (*only_page)->page == 3 && (*only_page)->per_page == 30);
    auto only_size = ParsePageParams(std::nullopt, Opt("100"));
    CPPUNIT_ASSERT(only_size.ok() && (*only_size)->page == 1 && (*only_size)->per_page == 100);
  }

  void BadValuesNameTheParameter() {
    for (const char* bad : {"0", "-1", "", "1.5", "x", "+2", " 1", "99999999999999999999"}) {
      auto p = ParsePageParams(Opt(bad), std::nullopt);
      CPPUNIT_ASSERT_MESSAGE(bad, !p.ok() && p.status().code == Code::InvalidArgument);
      CPPUNIT_ASSERT(p.status().message.rfind("page ", 0) == 0);
    }
    for (const char* bad : {"0", "101", "", "abc", "-5", "1e2"}) {
      auto p = ParsePageParams(Opt("1"), Opt(bad));
      CPPUNIT_ASSERT_MESSAGE(bad, !p.ok() && p.status().code == Code::InvalidArgument);
      CPPUNIT_ASSERT(p.status().message.rfind("per_page ", 0) == 0);
    }
  }

  void LinksWhereTheyExist() {
    domain::PageRequest p{2, 10};
    CPPUNIT_ASSERT_EQUAL(std::string("</repos?page=1&per_page=10>; rel=\"first\", "
                                     "</repos?page=1&per_page=10>; rel=\"prev\", "
                                     "</repos?page=3&per_page=10>; rel=\"next\", "
                                     "</repos?page=3&per_page=10>; rel=\"last\""),
                         LinkHeader("/repos", "page=2&per_page=10", p, 25));
    domain::PageRequest first{1, 10};
    CPPUNIT_ASSERT_EQUAL(std::string("</repos?page=1&per_page=10>; rel=\"first\", "
                                     "</repos?page=1&per_page=10>; rel=\"last\""),
                         LinkHeader("/repos", "per_page=10", first, 0));
    domain::PageRequest beyond{9, 10};
    CPPUNIT_ASSERT_EQUAL(std::string("</t?page=1&per_page=10>; rel=\"first\", "
                                     "</t?page=3&per_page=10>; rel=\"prev\", "
                                     "</t?page=3&per_page=10>; rel=\"last\""),
                         LinkHeader("/t", "page=9&per_page=10", beyond, 30));
  }

  void OtherParametersAreKept() {
    domain::PageRequest p{1, 2};
    CPPUNIT_ASSERT_EQUAL(std::string("</git/keys?username=bob&page=1&per_page=2>; rel=\"first\", "
                                     "</git/keys?username=bob&page=2&per_page=2>; rel=\"next\", "
                                     "</git/keys?username=bob&page=2&per_page=2>; rel=\"last\""),
                         LinkHeader("/git/keys", "page=1&username=bob&per_page=2", p, 3));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PagingTest);
