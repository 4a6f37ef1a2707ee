// The run queue in MariaDB (issue 6): a claim is a conditional UPDATE; two runners never claim
// the same run, and one repository never has two runs running.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "lib/core/clock.h"
#include "lib/crypto/random.h"
#include "lib/service/repos.h"
#include "lib/service/runs.h"
#include "lib/store/repos.h"
#include "lib/store/runs.h"
#include "tests/store/store_fixture.h"

using namespace kod;

class RunStoreTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RunStoreTest);
  CPPUNIT_TEST(ClaimsOldestFirstAndOnePerRepository);
  CPPUNIT_TEST(ConcurrentClaimersNeverShareARun);
  CPPUNIT_TEST(AbandonedRunsFailWithAStep);
  CPPUNIT_TEST(OneUnstorableBranchLeavesTheOthersTheirRuns);
  CPPUNIT_TEST(StepOutputAppendsAreIdempotentByOffset);
  CPPUNIT_TEST(OutputsAreReadAsTailsOnWholeSequences);
  CPPUNIT_TEST(RetentionPrunesOnlyOldFinishedRuns);
  CPPUNIT_TEST_SUITE_END();

  std::unique_ptr<test::StoreWorld> w_;

  int64_t Repo(const std::string& name) {
    auto r = store::RepoStore(w_->db).Insert(name, "owner0000001", NowMs());
    CPPUNIT_ASSERT(r.has_value());
    return *r;
  }
  domain::Run Queue(int64_t repo_id) {
    domain::Run run;
    run.id = crypto::NewId();
    run.repo_id = repo_id;
    run.branch = "main";
    run.commit = std::string(40, 'a');
    run.trigger = domain::RunTrigger::Api;
    run.created_at = NowMs();
    store::RunStore(w_->db).Insert(run);
    return run;
  }
  std::optional<domain::Run> Claim(db::Session& s, const std::string& runner) {
    std::optional<domain::Run> out;
    Status st = s.Run([&] {
      out = store::RunStore(s).ClaimNext(runner);
      return Status::Ok();
    }, true);
    CPPUNIT_ASSERT_MESSAGE(st.message, st.ok());
    return out;
  }

 public:
  void setUp() override { w_ = std::make_unique<test::StoreWorld>(); }
  void tearDown() override { w_.reset(); }

  void ClaimsOldestFirstAndOnePerRepository() {
    int64_t a = Repo("a"), b = Repo("b");
    domain::Run a1 = Queue(a), a2 = Queue(a), b1 = Queue(b);
    auto first = Claim(w_->db, "r1");
    CPPUNIT_ASSERT(first && first->id == a1.id);
    auto second = Claim(w_->db, "r1");  // a is busy: b's run, not a2
    CPPUNIT_ASSERT(second && second->id == b1.id);
    CPPUNIT_ASSERT(!Claim(w_->db, "r1"));  // both repositories busy
    CPPUNIT_ASSERT(store::RunStore(w_->db).Finish(first->seq, "r1", domain::RunStatus::Completed, true, 1, NowMs()));
    auto third = Claim(w_->db, "r1");
    CPPUNIT_ASSERT(third && third->id == a2.id);
  }

  void ConcurrentClaimersNeverShareARun() {
    // 200 runs over 20 repositories, four claimers that finish each run at once.
    std::vector<int64_t> repos;
    for (int i = 0; i < 20; ++i) repos.push_back(Repo("q" + std::to_string(i)));
    for (int i = 0; i < 200; ++i) Queue(repos[i % repos.size()]);
    std::mutex mu;
    std::multiset<std::string> claimed;
    std::atomic<int> overlap{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        db::Session s(test::StoreDbOptions());
        const std::string me = "runner" + std::to_string(t);
        int idle = 0;
        while (idle < 20) {
          std::optional<domain::Run> run;
          Status st = s.Run([&] {
            run = store::RunStore(s).ClaimNext(me);
            return Status::Ok();
          }, true);
          if (!st.ok() || !run) {
            ++idle;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
          }
          idle = 0;
          (void)s.Run([&] {
            db::Rows r = s.Prepare("SELECT COUNT(*) FROM workflow_runs WHERE repo_id = ? AND status = 'running'")
                             .Bind(run->repo_id).Query();
            r.Next();
            if (r.Int64(1) != 1) ++overlap;
            store::RunStore(s).Finish(run->seq, me, domain::RunStatus::Completed, true, 0, NowMs());
            return Status::Ok();
          });
          std::lock_guard<std::mutex> lock(mu);
          claimed.insert(run->id);
        }
      });
    for (auto& th : threads) th.join();
    CPPUNIT_ASSERT_EQUAL(size_t{200}, claimed.size());
    CPPUNIT_ASSERT_EQUAL(size_t{200}, std::set<std::string>(claimed.begin(), claimed.end()).size());
    CPPUNIT_ASSERT_EQUAL(0, overlap.load());
  }

  void AbandonedRunsFailWithAStep() {
    int64_t a = Repo("lost");
    Queue(a);
    auto run = Claim(w_->db, "dead-runner");
    CPPUNIT_ASSERT(run.has_value());
    store::RunStore runs(w_->db);
    // Heartbeat is fresh: not stale yet.
    CPPUNIT_ASSERT(runs.Stale(NowMs() - 15000).empty());
    CPPUNIT_ASSERT_EQUAL(size_t{1}, runs.Stale(NowMs() + 1).size());
    CPPUNIT_ASSERT(runs.FailAbandoned(run->seq, "Runner lost", "gone", NowMs(), NowMs() + 1));
    auto after = runs.FindBySeq(run->seq);
    CPPUNIT_ASSERT(after->status == domain::RunStatus::Failed);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, after->steps.size());
    CPPUNIT_ASSERT_EQUAL(std::string("Runner lost"), after->steps[0].name);
    // The runner coming back cannot overwrite the verdict.
    CPPUNIT_ASSERT(!runs.Finish(run->seq, "dead-runner", domain::RunStatus::Completed, true, 1, NowMs()));
  }

  // Issue 9 defect 6: a push of aaa, a 300-byte branch name, a non-UTF-8 one and zzz queued no run
  // for zzz (the first insert that failed ended the loop) and showed the pusher an error.
  void OneUnstorableBranchLeavesTheOthersTheirRuns() {
    int64_t id = Repo("pushy");
    const std::string bare = service::RepoPath(w_->config, "pushy");
    const std::string work = w_->config.repos_dir + "/work";
    const std::string script = w_->config.repos_dir + "/make.sh";
    FILE* f = std::fopen(script.c_str(), "w");
    CPPUNIT_ASSERT(f != nullptr);
    std::fprintf(f, R"(set -e
export HOME=%s GIT_CONFIG_NOSYSTEM=1
git init -q --bare %s
git init -q %s && cd %s
mkdir -p .kod/workflows && printf '[step:a]\nrun: true\n' > .kod/workflows/ci.toml
git add . && git -c user.name=t -c user.email=t@t.invalid commit -qm ci
git push -q %s HEAD:refs/heads/main
git rev-parse HEAD > ../sha
)", w_->config.repos_dir.c_str(), bare.c_str(), work.c_str(), work.c_str(), bare.c_str());
    std::fclose(f);
    CPPUNIT_ASSERT_EQUAL(0, std::system(("bash " + script + " >/dev/null 2>&1").c_str()));
    std::string sha(40, '0');
    FILE* in = std::fopen((w_->config.repos_dir + "/sha").c_str(), "r");
    CPPUNIT_ASSERT(in != nullptr && std::fread(sha.data(), 1, 40, in) == 40);
    std::fclose(in);

    const std::string zero(40, '0');
    const std::string long_name = std::string(150, 'b') + "/" + std::string(149, 'c');  // 300 bytes
    std::vector<service::RefUpdate> updates = {{zero, sha, "refs/heads/aaa"},
                                               {zero, sha, "refs/heads/" + long_name},
                                               {zero, sha, "refs/heads/bad\xff\xfe"},
                                               {zero, sha, "refs/heads/zzz"}};
    auto lines = service::QueuePushRuns(w_->env, id, "pushy", updates);
    CPPUNIT_ASSERT_MESSAGE(lines.ok() ? "" : lines.status().message, lines.ok());
    CPPUNIT_ASSERT_EQUAL(size_t{4}, lines->size());
    CPPUNIT_ASSERT((*lines)[0].find("queued workflow run") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE((*lines)[1], (*lines)[1].find("longer than 255 characters") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE((*lines)[2], (*lines)[2].find("not valid UTF-8") != std::string::npos);
    CPPUNIT_ASSERT((*lines)[3].find("queued workflow run") != std::string::npos);
    for (const std::string& l : *lines) CPPUNIT_ASSERT_MESSAGE(l, l.find("atabase") == std::string::npos);
    std::set<std::string> branches;
    for (const domain::Run& r : store::RunStore(w_->db).List(id, 10)) branches.insert(r.branch);
    CPPUNIT_ASSERT(branches == (std::set<std::string>{"aaa", "zzz"}));
  }

  // A running step shows its output so far; an append retried after a lost answer is applied
  // once; an append at the wrong offset is refused; the reaper ends the running step.
  void StepOutputAppendsAreIdempotentByOffset() {
    Queue(Repo("live"));
    auto run = Claim(w_->db, "runner-1");
    store::RunStore runs(w_->db);
    const int idx = runs.StartStep(run->seq, "build");
    CPPUNIT_ASSERT(runs.AppendStepOutput(run->seq, idx, 0, "line 1\n"));
    CPPUNIT_ASSERT(runs.AppendStepOutput(run->seq, idx, 0, "line 1\n"));  // the retry
    CPPUNIT_ASSERT(runs.AppendStepOutput(run->seq, idx, 7, "line 2\n"));
    CPPUNIT_ASSERT(!runs.AppendStepOutput(run->seq, idx, 30, "lost\n"));
    auto now = runs.FindBySeq(run->seq);
    CPPUNIT_ASSERT_EQUAL(std::string("line 1\nline 2\n"), now->steps[0].output);
    CPPUNIT_ASSERT(now->steps[0].running);
    auto log = domain::LayOutLog(runs.LogSteps(run->seq));
    CPPUNIT_ASSERT_EQUAL(uint64_t{13 + 14}, domain::LogSize(log));
    CPPUNIT_ASSERT_EQUAL(std::string("ne 2\n"), runs.StepOutputRange(run->seq, idx, 9, 100));
    CPPUNIT_ASSERT(runs.FailAbandoned(run->seq, "Runner lost", "gone", NowMs(), std::nullopt));
    auto after = runs.FindBySeq(run->seq);
    CPPUNIT_ASSERT(!after->steps[0].running);
    CPPUNIT_ASSERT_EQUAL(size_t{2}, after->steps.size());
  }

  void OutputsAreReadAsTailsOnWholeSequences() {
    Queue(Repo("tails"));
    auto run = Claim(w_->db, "runner-1");
    store::RunStore runs(w_->db);
    domain::StepResult s;
    s.name = "unicode";
    s.output = "abc\xe2\x9c\x93xyz";  // a 3-byte sequence the 5-byte tail cuts
    runs.AppendStep(run->seq, s);
    auto cut = runs.Find(run->repo_id, run->id, 5);
    CPPUNIT_ASSERT_EQUAL(std::string("xyz"), cut->steps[0].output);
    CPPUNIT_ASSERT(cut->steps[0].output_truncated);
    auto whole = runs.Find(run->repo_id, run->id);
    CPPUNIT_ASSERT_EQUAL(s.output, whole->steps[0].output);
    CPPUNIT_ASSERT(!whole->steps[0].output_truncated);
  }

  // runner.keep_runs: the newest `keep` runs stay, older finished ones go with their steps;
  // queued and running ones are never pruned; other repositories are untouched.
  void RetentionPrunesOnlyOldFinishedRuns() {
    const int64_t a = Repo("kept"), b = Repo("other");
    store::RunStore runs(w_->db);
    std::vector<domain::Run> made;
    for (int i = 0; i < 5; ++i) made.push_back(Queue(a));
    Queue(b);
    for (int i = 1; i < 5; ++i) CPPUNIT_ASSERT(runs.CancelQueued(made[i].seq, NowMs()));
    domain::StepResult s;
    s.name = "x";
    runs.AppendStep(made[1].seq, s);
    // made[0] stays queued; made[1..4] finished. Keep 2: made[3], made[4] stay, made[1..2] go.
    CPPUNIT_ASSERT_EQUAL(2, runs.PruneFinished(a, 2));
    CPPUNIT_ASSERT(runs.FindBySeq(made[0].seq).has_value());
    CPPUNIT_ASSERT(!runs.FindBySeq(made[1].seq).has_value());
    CPPUNIT_ASSERT(!runs.FindBySeq(made[2].seq).has_value());
    CPPUNIT_ASSERT(runs.FindBySeq(made[3].seq).has_value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, runs.Count(b));
    db::Rows r = w_->db.Prepare("SELECT COUNT(*) FROM workflow_steps WHERE run_seq = ?").Bind(made[1].seq).Query();
    r.Next();
    CPPUNIT_ASSERT_EQUAL(int64_t{0}, r.Int64(1));
    CPPUNIT_ASSERT_EQUAL(0, runs.PruneFinished(a, 10));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RunStoreTest);
