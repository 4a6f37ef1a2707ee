// Use cases of workflow runs on the runner side: claim, heartbeat, record steps, finish, and
// fail the runs whose runner is gone. The API side lives in lib/service/runs.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/status.h"
#include "lib/domain/run.h"
#include "lib/service/env.h"

namespace kod::service {

/// Claims, in one transaction, the oldest queued run of a repository that has nothing running
/// (one run per repository at a time, oldest first), for `runner_id`; the run comes back running,
/// without steps. nullopt: nothing to claim. Errors: Unavailable, Internal.
Result<std::optional<domain::Run>> ClaimNextRun(Env& env, const std::string& runner_id);

/// Marks every run `runner_id` is running as alive now (the reaper fails runs whose heartbeat
/// stops).
Status Heartbeat(Env& env, const std::string& runner_id);

/// The runner's liveness row for GET /workflows/status (id, host, start, capacity, busy), seen
/// now; runners unseen for a day are forgotten. Remove() at a clean stop.
Status BeatRunner(Env& env, domain::RunnerInfo runner);
Status RemoveRunner(Env& env, const std::string& runner_id);

/// Appends `step` to the run's results (after its last step), finished: skipped steps, Setup.
Status RecordStep(Env& env, const domain::Run& run, const domain::StepResult& step);

/// Adds step `name` after the run's last one as running, with no output yet (it shows in the
/// run's JSON with "running": true); returns its index for the calls below.
Result<int> StartStep(Env& env, const domain::Run& run, const std::string& name);

/// Appends `text` (masked, valid UTF-8) to step `idx`'s output, which must hold `offset` bytes:
/// a retry of an append that went through is not applied twice. Internal when the output has
/// another length (an append was lost).
Status AppendStepOutput(Env& env, const domain::Run& run, int idx, uint64_t offset, std::string_view text);

/// Ends step `idx` with the result fields of `step` (success, error, duration, resources); its
/// output stays as the appends made it.
Status FinishStep(Env& env, const domain::Run& run, int idx, const domain::StepResult& step);

/// Records the run's result, `outcome` completed, failed or cancelled, with its duration and
/// completion time (epoch ms); only if it is still running under `runner_id` (a run the reaper
/// failed meanwhile keeps that verdict). The one function that ends a run the runner executed.
/// Then prunes the repository's finished runs beyond runner.keep_runs (their logs go with them).
Status FinishRun(Env& env, const domain::Run& run, const std::string& runner_id, domain::RunStatus outcome,
                 int64_t duration_ms, int64_t completed_at);

/// Ids of the runs `runner_id` executes whose cancel was asked (POST .../cancel, a repository
/// delete): one query, made when the runner is woken and with each heartbeat.
Result<std::vector<std::string>> CancelRequestedRuns(Env& env, const std::string& runner_id);

/// The current name of the run's repository (it may have been renamed since the run was
/// queued); the name the run was read with when the repository cannot be read.
std::string CurrentRepoName(Env& env, const domain::Run& run);

/// Running runs whose heartbeat is older than `before` (epoch ms): their runner stopped beating.
Result<std::vector<domain::Run>> StaleRuns(Env& env, int64_t before);
/// Every running run, with the runner that claimed it (runner_id).
Result<std::vector<domain::Run>> RunningRuns(Env& env);
/// The running runs of `runner_id`.
Result<std::vector<domain::Run>> RunningRunsOf(Env& env, const std::string& runner_id);

/// Fails a running run that lost its runner, adding one step named `step_name` with `error`,
/// at `now` (epoch ms). With `stale_before`, only if its heartbeat is still older than that (a
/// runner that beat meanwhile keeps its run). True when this call failed it.
Result<bool> FailAbandonedRun(Env& env, const domain::Run& run, const std::string& step_name,
                              const std::string& error, int64_t now, std::optional<int64_t> stale_before);

}  // namespace kod::service
