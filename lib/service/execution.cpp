#include "lib/service/execution.h"

#include "lib/core/clock.h"
#include "lib/store/repos.h"
#include "lib/service/webhooks.h"
#include "lib/store/runs.h"

namespace kod::service {

Result<std::optional<domain::Run>> ClaimNextRun(Env& env, const std::string& runner_id) {
  return env.db.Get<std::optional<domain::Run>>(
      [&]() -> Result<std::optional<domain::Run>> { return store::RunStore(env.db).ClaimNext(runner_id); },
      /*transaction=*/true);
}

Status BeatRunner(Env& env, domain::RunnerInfo runner) {
  constexpr int64_t kForgetMs = 24 * 3600 * 1000;
  runner.last_seen_at = NowMs();
  return env.db.Run([&] {
    store::RunStore(env.db).BeatRunner(runner, runner.last_seen_at - kForgetMs);
    return Status::Ok();
  });
}

Status RemoveRunner(Env& env, const std::string& runner_id) {
  return env.db.Run([&] {
    store::RunStore(env.db).RemoveRunner(runner_id);
    return Status::Ok();
  });
}

Status Heartbeat(Env& env, const std::string& runner_id) {
  return env.db.Run([&] {
    store::RunStore(env.db).Heartbeat(runner_id, NowMs());
    return Status::Ok();
  });
}

Status RecordStep(Env& env, const domain::Run& run, const domain::StepResult& step) {
  return env.db.Run([&] {
    store::RunStore(env.db).AppendStep(run.seq, step);
    return Status::Ok();
  });
}

Result<int> StartStep(Env& env, const domain::Run& run, const std::string& name) {
  return env.db.Get<int>([&]() -> Result<int> { return store::RunStore(env.db).StartStep(run.seq, name); },
                         /*transaction=*/true);
}

Status AppendStepOutput(Env& env, const domain::Run& run, int idx, uint64_t offset, std::string_view text) {
  return env.db.Run([&]() -> Status {
    if (store::RunStore(env.db).AppendStepOutput(run.seq, idx, offset, text)) return Status::Ok();
    return Internal("step output is not " + std::to_string(offset) + " bytes long: an append was lost");
  });
}

Status FinishStep(Env& env, const domain::Run& run, int idx, const domain::StepResult& step) {
  return env.db.Run([&] {
    store::RunStore(env.db).FinishStep(run.seq, idx, step);
    return Status::Ok();
  });
}

namespace {

// What follows a run's end: the `workflow` webhook event (docs/webhooks.md#events).
void RunFinished(Env& env, const domain::Run& run) { QueueWorkflowEvent(env, run); }

}  // namespace

Status FinishRun(Env& env, const domain::Run& run, const std::string& runner_id, domain::RunStatus outcome,
                 int64_t duration_ms, int64_t completed_at) {
  const bool success = outcome == domain::RunStatus::Completed;
  std::optional<domain::Run> finished;
  Status s = env.db.Run([&] {
    store::RunStore runs(env.db);
    finished.reset();
    if (runs.Finish(run.seq, runner_id, outcome, success, duration_ms, completed_at)) finished = runs.FindBySeq(run.seq);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (finished) RunFinished(env, *finished);
  // Retention: idempotent, so outside the transaction above (docs/configuration.md keep_runs).
  (void)env.db.Run([&] {
    store::RunStore(env.db).PruneFinished(run.repo_id, env.config.runner_keep_runs);
    return Status::Ok();
  });
  return Status::Ok();
}

Result<std::vector<std::string>> CancelRequestedRuns(Env& env, const std::string& runner_id) {
  return env.db.Get<std::vector<std::string>>(
      [&]() -> Result<std::vector<std::string>> { return store::RunStore(env.db).CancelRequested(runner_id); });
}

std::string CurrentRepoName(Env& env, const domain::Run& run) {
  std::string name = run.repo_name;
  (void)env.db.Run([&] {
    if (auto repo = store::RepoStore(env.db).FindById(run.repo_id)) name = repo->name;
    return Status::Ok();
  });
  return name;
}

Result<std::vector<domain::Run>> StaleRuns(Env& env, int64_t before) {
  return env.db.Get<std::vector<domain::Run>>(
      [&]() -> Result<std::vector<domain::Run>> { return store::RunStore(env.db).Stale(before); });
}

Result<std::vector<domain::Run>> RunningRuns(Env& env) {
  return env.db.Get<std::vector<domain::Run>>(
      [&]() -> Result<std::vector<domain::Run>> { return store::RunStore(env.db).Running(); });
}

Result<std::vector<domain::Run>> RunningRunsOf(Env& env, const std::string& runner_id) {
  return env.db.Get<std::vector<domain::Run>>(
      [&]() -> Result<std::vector<domain::Run>> { return store::RunStore(env.db).RunningOf(runner_id); });
}

Result<bool> FailAbandonedRun(Env& env, const domain::Run& run, const std::string& step_name,
                              const std::string& error, int64_t now, std::optional<int64_t> stale_before) {
  std::optional<domain::Run> failed;
  auto done = env.db.Get<bool>([&]() -> Result<bool> {
    store::RunStore runs(env.db);
    failed.reset();
    bool changed = runs.FailAbandoned(run.seq, step_name, error, now, stale_before);
    if (changed) failed = runs.FindBySeq(run.seq);
    return changed;
  });
  if (done.ok() && failed) RunFinished(env, *failed);
  return done;
}

}  // namespace kod::service
