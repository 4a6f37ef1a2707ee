// fcgi/router: the route table is deny-by-default, and path splitting/matching follow
// docs/api.md#paths (decode once, one trailing slash, no empty segments).
#include <cppunit/extensions/HelperMacros.h>

#include "fcgi/http.h"
#include "fcgi/router.h"

using namespace kod::fcgi;

class RouterTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RouterTest);
  CPPUNIT_TEST(EveryRouteButHealthIsGuarded);
  CPPUNIT_TEST(SplitPathRules);
  CPPUNIT_TEST(PatternsCaptureArguments);
  CPPUNIT_TEST(NoTwoRoutesClaimTheSameRequest);
  CPPUNIT_TEST(BasePathIsRemovedOrTheRequestIsOutside);
  CPPUNIT_TEST_SUITE_END();

 public:
  void EveryRouteButHealthIsGuarded() {
    for (const Route& r : Routes()) {
      if (r.guard == Guard::Public) CPPUNIT_ASSERT_EQUAL(std::string("/health"), std::string(r.pattern));
      // Public and Token routes need no permission; every other one names the permission it needs.
      const bool needs_none = r.guard == Guard::Public || r.guard == Guard::Token;
      CPPUNIT_ASSERT_EQUAL_MESSAGE(r.pattern, needs_none, !r.permission.has_value());
      if (std::string(r.pattern).rfind("/tokens", 0) == 0) CPPUNIT_ASSERT(r.guard == Guard::Admin);
    }
  }

  void SplitPathRules() {
    auto s = SplitPath("/repos/a%2Db/secrets/");
    CPPUNIT_ASSERT(s.has_value());
    CPPUNIT_ASSERT_EQUAL(size_t{3}, s->size());
    CPPUNIT_ASSERT_EQUAL(std::string("a-b"), (*s)[1]);
    CPPUNIT_ASSERT(SplitPath("/")->empty());
    CPPUNIT_ASSERT(!SplitPath("/repos//x").has_value());      // empty segment → 404
    CPPUNIT_ASSERT(!SplitPath("/repos/x//").has_value());     // only one trailing slash
    CPPUNIT_ASSERT(!SplitPath("/repos/%zz").has_value());     // bad escape
    CPPUNIT_ASSERT(!SplitPath("/repos/%00").has_value());     // NUL
    CPPUNIT_ASSERT(!SplitPath("repos").has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("%2e"), (*SplitPath("/repos/%252e"))[1]);  // decoded once only
  }

  void PatternsCaptureArguments() {
    std::map<std::string, std::string> args;
    CPPUNIT_ASSERT(MatchPattern("/repos/:name/secrets/:secret", *SplitPath("/repos/r1/secrets/S"), args));
    CPPUNIT_ASSERT_EQUAL(std::string("r1"), args["name"]);
    CPPUNIT_ASSERT_EQUAL(std::string("S"), args["secret"]);
    CPPUNIT_ASSERT(MatchPattern("/repos/:name.git/info/refs", *SplitPath("/repos/r1.git/info/refs"), args));
    CPPUNIT_ASSERT_EQUAL(std::string("r1"), args["name"]);
    CPPUNIT_ASSERT(!MatchPattern("/repos/:name.git/info/refs", *SplitPath("/repos/r1/info/refs"), args));
    CPPUNIT_ASSERT(!MatchPattern("/repos/:name.git/info/refs", *SplitPath("/repos/.git/info/refs"), args));
    CPPUNIT_ASSERT(!MatchPattern("/repos/:name", *SplitPath("/repos/a/b"), args));
  }

  // server.base_path (docs/nginx.md): "/git/repos" routes as "/repos"; paths outside the prefix
  // (or merely starting with its letters) route nowhere.
  void BasePathIsRemovedOrTheRequestIsOutside() {
    CPPUNIT_ASSERT_EQUAL(std::string("/repos/x"), WithoutBasePath("/repos/x", ""));
    CPPUNIT_ASSERT_EQUAL(std::string("/repos/x"), WithoutBasePath("/git/repos/x", "/git"));
    CPPUNIT_ASSERT_EQUAL(std::string("/"), WithoutBasePath("/git", "/git"));
    CPPUNIT_ASSERT_EQUAL(std::string("/health"), WithoutBasePath("/a/b/health", "/a/b"));
    CPPUNIT_ASSERT_EQUAL(std::string(""), WithoutBasePath("/repos/x", "/git"));
    CPPUNIT_ASSERT_EQUAL(std::string(""), WithoutBasePath("/gitx/repos", "/git"));
    CPPUNIT_ASSERT(!SplitPath(WithoutBasePath("/other", "/git")).has_value());
  }

  void NoTwoRoutesClaimTheSameRequest() {
    const char* paths[] = {"/health", "/tokens", "/tokens/abc", "/repos", "/repos/x", "/repos/x/collaborators",
                           "/repos/x/collaborators/u", "/repos/x/secrets", "/repos/x/secrets/S",
                           "/repos/x/workflows", "/repos/x/workflows/i", "/repos/x.git/info/refs",
                           "/repos/x.git/git-upload-pack", "/repos/x.git/git-receive-pack"};
    for (const char* p : paths) {
      std::map<std::string, int> per_method;
      for (const Route& r : Routes()) {
        std::map<std::string, std::string> args;
        if (MatchPattern(r.pattern, *SplitPath(p), args)) per_method[r.method]++;
      }
      CPPUNIT_ASSERT_MESSAGE(p, !per_method.empty());
      for (const auto& [m, n] : per_method) CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(p) + " " + m, 1, n);
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RouterTest);
