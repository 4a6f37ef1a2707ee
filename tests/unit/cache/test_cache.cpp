// lib/cache: generations per scope shared with forked processes, age limits, size bound, Timed.
#include <cppunit/extensions/HelperMacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "lib/cache/cache.h"

using namespace kod;

namespace {

constexpr cache::Spec kRepos{"test repos", cache::Scope::kRepos, 0, 3};
constexpr cache::Spec kTokens{"test tokens", cache::Scope::kTokens, 0, 100};
constexpr cache::Spec kShortLived{"test short-lived", cache::Scope::kNone, 300, 100};

}  // namespace

class CacheTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(CacheTest);
  CPPUNIT_TEST(UnscopedCachesWorkWithoutEnable);
  CPPUNIT_TEST(AChangeInvalidatesItsScopeOnly);
  CPPUNIT_TEST(AChangeInAForkedProcessIsSeenHere);
  CPPUNIT_TEST(AValueReadBeforeAChangeIsNeverUsedAfterIt);
  CPPUNIT_TEST(EntriesExpireWithTheirMaxAge);
  CPPUNIT_TEST(TheSizeBoundEmptiesTheMap);
  CPPUNIT_TEST(TimedValueExpires);
  CPPUNIT_TEST_SUITE_END();

 public:
  void UnscopedCachesWorkWithoutEnable() {
    // Runs first: nothing called Enable() yet in this process.
    CPPUNIT_ASSERT(!cache::Enabled());
    cache::Map<int> scoped(kRepos);
    scoped.Put("a", 1, cache::Generation(cache::Scope::kRepos));
    CPPUNIT_ASSERT(scoped.Get("a") == nullptr);  // nothing could invalidate it: off
    cache::Map<int> unscoped(kShortLived);
    unscoped.Put("a", 1, 0);
    CPPUNIT_ASSERT(unscoped.Get("a") != nullptr);
    cache::Enable();
    CPPUNIT_ASSERT(cache::Enabled());
  }

  void AChangeInvalidatesItsScopeOnly() {
    cache::Map<std::string> repos(kRepos);
    cache::Map<std::string> tokens(kTokens);
    repos.Put("r", "repo", cache::Generation(cache::Scope::kRepos));
    tokens.Put("t", "token", cache::Generation(cache::Scope::kTokens));
    cache::Changed(cache::Scope::kTokens);
    CPPUNIT_ASSERT(tokens.Get("t") == nullptr);
    CPPUNIT_ASSERT(repos.Get("r") != nullptr);
    CPPUNIT_ASSERT_EQUAL(std::string("repo"), *repos.Get("r"));
    cache::Changed(cache::Scope::kRepos);
    CPPUNIT_ASSERT(repos.Get("r") == nullptr);
  }

  void AChangeInAForkedProcessIsSeenHere() {
    cache::Map<int> repos(kRepos);
    repos.Put("r", 7, cache::Generation(cache::Scope::kRepos));
    pid_t child = fork();
    if (child == 0) {
      cache::Changed(cache::Scope::kRepos);  // as another worker of the host would
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CPPUNIT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CPPUNIT_ASSERT(repos.Get("r") == nullptr);
  }

  void AValueReadBeforeAChangeIsNeverUsedAfterIt() {
    cache::Map<int> repos(kRepos);
    const uint64_t before_read = cache::Generation(cache::Scope::kRepos);
    cache::Changed(cache::Scope::kRepos);  // committed while the value was being read
    repos.Put("r", 1, before_read);
    CPPUNIT_ASSERT(repos.Get("r") == nullptr);
  }

  void EntriesExpireWithTheirMaxAge() {
    cache::Map<int> m(kShortLived);
    m.Put("a", 1, 0);
    CPPUNIT_ASSERT(m.Get("a") != nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(kShortLived.max_age_ms + 5));
    CPPUNIT_ASSERT(m.Get("a") == nullptr);
  }

  void TheSizeBoundEmptiesTheMap() {
    cache::Map<int> m(kRepos);  // at most 3
    const uint64_t g = cache::Generation(cache::Scope::kRepos);
    for (int i = 0; i < 3; ++i) m.Put(std::to_string(i), i, g);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, m.size());
    m.Put("1", 10, g);  // an existing key: no eviction
    CPPUNIT_ASSERT_EQUAL(size_t{3}, m.size());
    m.Put("new", 4, g);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, m.size());
    CPPUNIT_ASSERT_EQUAL(4, *m.Get("new"));
  }

  void TimedValueExpires() {
    cache::Timed<bool> t(kShortLived);
    CPPUNIT_ASSERT(t.Get() == nullptr);
    t.Put(true);
    CPPUNIT_ASSERT(t.Get() != nullptr && *t.Get());
    std::this_thread::sleep_for(std::chrono::milliseconds(kShortLived.max_age_ms + 5));
    CPPUNIT_ASSERT(t.Get() == nullptr);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CacheTest);
