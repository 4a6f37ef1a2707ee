// kod-jobs' queue in MariaDB (docs/jobs.md): a job is claimed by exactly one of several claimers,
// only when due, and a job whose holder is gone is taken back by exactly one reaper.
#include <cppunit/extensions/HelperMacros.h>

#include <mutex>
#include <set>
#include <thread>

#include "lib/core/clock.h"
#include "lib/service/jobs.h"
#include "lib/store/jobs.h"
#include "tests/store/store_fixture.h"

using namespace kod;

namespace {
bool NeverDead(const std::string&) { return false; }
bool AlwaysDead(const std::string&) { return true; }
}  // namespace

class JobStoreTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(JobStoreTest);
  CPPUNIT_TEST(ClaimsOnlyDueJobsOfKnownKinds);
  CPPUNIT_TEST(ConcurrentClaimersTakeEachJobOnce);
  CPPUNIT_TEST(RetryAndTakeOver);
  CPPUNIT_TEST_SUITE_END();

  std::unique_ptr<test::StoreWorld> w_;

  void Enqueue(const std::string& kind, const std::string& subject, int64_t due_at) {
    Status s = w_->db.Run([&] {
      service::EnqueueJobInTransaction(w_->env, kind, subject, std::nullopt, due_at);
      return Status::Ok();
    }, true);
    CPPUNIT_ASSERT_MESSAGE(s.message, s.ok());
  }

 public:
  void setUp() override {
    w_ = std::make_unique<test::StoreWorld>();
    w_->db.ExecuteRaw("DELETE FROM jobs");
  }
  void tearDown() override { w_.reset(); }

  void ClaimsOnlyDueJobsOfKnownKinds() {
    Enqueue("a", "later", NowMs() + 60000);
    Enqueue("b", "other-kind", NowMs() - 10);
    Enqueue("a", "now", NowMs() - 10);
    auto job = service::ClaimNextJob(w_->env, {"a"}, "w1");
    CPPUNIT_ASSERT(job.ok() && *job && (*job)->subject == "now" && (*job)->attempts == 1);
    auto none = service::ClaimNextJob(w_->env, {"a"}, "w1");
    CPPUNIT_ASSERT(none.ok() && !*none);
    CPPUNIT_ASSERT(service::FinishJob(w_->env, **job, "w1").ok());
  }

  void ConcurrentClaimersTakeEachJobOnce() {
    for (int i = 0; i < 150; ++i) Enqueue("k", "s" + std::to_string(i), NowMs() - 1);
    std::mutex mu;
    std::multiset<std::string> claimed;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        db::Session s(test::StoreDbOptions());
        service::Env env{w_->config, s, nullptr};
        const std::string me = "w" + std::to_string(t);
        for (;;) {
          auto job = service::ClaimNextJob(env, {"k"}, me);
          if (!job.ok() || !*job) break;
          (void)service::FinishJob(env, **job, me);
          std::lock_guard<std::mutex> lock(mu);
          claimed.insert((*job)->subject);
        }
      });
    for (auto& t : threads) t.join();
    CPPUNIT_ASSERT_EQUAL(size_t{150}, claimed.size());
    CPPUNIT_ASSERT_EQUAL(size_t{150}, std::set<std::string>(claimed.begin(), claimed.end()).size());
  }

  void RetryAndTakeOver() {
    Enqueue("k", "x", NowMs() - 1);
    auto job = service::ClaimNextJob(w_->env, {"k"}, "w1");
    CPPUNIT_ASSERT(job.ok() && *job);
    // Given back without counting the attempt, due later: not claimable now.
    CPPUNIT_ASSERT(service::RetryJob(w_->env, **job, "w1", NowMs() + 60000, /*count_attempt=*/false).ok());
    auto none = service::ClaimNextJob(w_->env, {"k"}, "w2");
    CPPUNIT_ASSERT(none.ok() && !*none);
    w_->db.ExecuteRaw("UPDATE jobs SET due_at = 0");
    auto again = service::ClaimNextJob(w_->env, {"k"}, "w2");
    CPPUNIT_ASSERT(again.ok() && *again && (*again)->attempts == 1);
    // A live holder keeps it; a dead one loses it to exactly one reaper.
    auto kept = service::TakeOverAbandonedJobs(w_->env, "w3", NeverDead);
    CPPUNIT_ASSERT(kept.ok() && kept->empty());
    auto taken = service::TakeOverAbandonedJobs(w_->env, "w3", AlwaysDead);
    CPPUNIT_ASSERT(taken.ok() && taken->size() == 1 && (*taken)[0].claimed_by == "w3");
    auto twice = service::TakeOverAbandonedJobs(w_->env, "w4", NeverDead);
    CPPUNIT_ASSERT(twice.ok() && twice->empty());
    // The old holder can no longer settle it.
    CPPUNIT_ASSERT(service::FinishJob(w_->env, **again, "w2").ok());
    db::Rows r = w_->db.Prepare("SELECT COUNT(*) FROM jobs").Query();
    CPPUNIT_ASSERT(r.Next() && r.Int64(1) == 1);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(JobStoreTest);
