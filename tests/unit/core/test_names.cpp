// Table tests of lib/core/names: the list of nasty inputs (docs/development.md#validation, docs/api.md#tokens, docs/api.md#repositories, docs/api.md#secrets).
#include <cppunit/extensions/HelperMacros.h>

#include <regex>
#include <string>
#include <vector>

#include "lib/core/limits.h"
#include "lib/core/names.h"

using namespace kod::names;

class NamesTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(NamesTest);
  CPPUNIT_TEST(RepoNames);
  CPPUNIT_TEST(Usernames);
  CPPUNIT_TEST(SecretNames);
  CPPUNIT_TEST(Ids);
  CPPUNIT_TEST(Branches);
  CPPUNIT_TEST(PublishedPatternsMatchTheChecks);
  CPPUNIT_TEST_SUITE_END();

  struct Row {
    std::string input;
    bool valid;
  };

  template <class F>
  void Check(const char* what, F f, std::initializer_list<Row> rows) {
    for (const Row& r : rows)
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(what) + " '" + r.input + "'", r.valid, f(r.input));
  }

 public:
  void RepoNames() {
    Check("repo", IsValidRepoName,
          {{"my-project", true}, {"a", true}, {"_x", true}, {"9lives", true}, {"A_b-C", true},
           {std::string(100, 'x'), true}, {std::string(101, 'x'), false}, {"", false}, {"..", false},
           {".", false}, {"a/b", false}, {"%2e%2e", false}, {"x.git", false}, {"-lead", false},
           {"a b", false}, {"caf\xc3\xa9", false}, {"\xef\xbd\x92\xef\xbd\x85", false} /* fullwidth */,
           {std::string("a\0b", 3), false}, {"tab\tname", false}, {"semi;colon", false}, {"a.b", false}});
    CPPUNIT_ASSERT(IsReservedRepoName("import"));
    CPPUNIT_ASSERT(!IsReservedRepoName("Import"));  // names are case-sensitive
  }

  void Usernames() {
    Check("username", IsValidUsername,
          {{"alice", true}, {"a-b_c9", true}, {"-lead", true}, {std::string(64, 'u'), true},
           {std::string(65, 'u'), false}, {"", false}, {"al ice", false}, {"a.b", false}, {"a/b", false},
           {std::string("a\0", 2), false}});
  }

  void SecretNames() {
    Check("secret", IsValidSecretName,
          {{"DEPLOY_TOKEN", true}, {"_X", true}, {"a1", true}, {std::string(128, 'Z'), true},
           {std::string(129, 'Z'), false}, {"1ABC", false}, {"A-B", false}, {"A.B", false}, {"", false},
           {"A B", false}});
    Check("reserved", IsReservedSecretName,
          {{"KOD_X", true}, {"KOD_", true}, {"kod_x", true}, {"Kod_Y", true}, {"KO_D", false}, {"XKOD_", false},
           {"KOD", false}, {"KODX", false}});
  }

  void Ids() {
    Check("id", IsValidId,
          {{"abc123xyz456", true}, {"ABC123xyz456", false}, {"abc123xyz45", false}, {"abc123xyz4567", false},
           {"abc123xyz45-", false}});
  }

  void Branches() {
    Check("branch", IsValidBranchName,
          {{"main", true}, {"feature/x", true}, {"v1.2", true}, {"", false}, {"-x", false}, {"a..b", false},
           {"a b", false}, {"x.lock", false}, {"a//b", false}, {".hidden", false}, {"a~1", false}, {"a^", false},
           {"a:b", false}, {"end/", false}, {"@{u}", false}});
  }

  // GET /limits publishes repoNamePattern and secretNamePattern (lib/core/limits.h): a client
  // checking a name with them must get the server's answer.
  void PublishedPatternsMatchTheChecks() {
    const std::regex repo(kod::limits::kRepoNamePattern);
    const std::regex secret(kod::limits::kSecretNamePattern);
    const std::vector<std::string> inputs = {
        "my-project", "a", "_x", "9lives", "A_b-C", std::string(100, 'x'), std::string(101, 'x'), "", "..",
        "a/b", "x.git", "-lead", "a b", "caf\xc3\xa9", "DEPLOY_TOKEN", "1ABC", "A-B", "A.B",
        std::string(128, 'Z'), "tab\tname", "semi;colon"};
    for (const std::string& in : inputs) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE("repo '" + in + "'", IsValidRepoName(in), std::regex_match(in, repo));
      const bool secret_ok = std::regex_match(in, secret) && in.size() <= kod::limits::kSecretNameMaxLength;
      CPPUNIT_ASSERT_EQUAL_MESSAGE("secret '" + in + "'", IsValidSecretName(in), secret_ok);
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(NamesTest);
