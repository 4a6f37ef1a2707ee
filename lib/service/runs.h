// Use cases of workflow runs on the API side (docs/api.md#workflow-runs, docs/api.md#workflow-runs): trigger,
// list, get, and the runs a push queues. The runner side lives in lib/service/execution.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/core/status.h"
#include "lib/domain/page.h"
#include "lib/domain/run.h"
#include "lib/service/env.h"
#include "lib/service/repos.h"

namespace kod::service {

/// POST /repos/:name/workflows body after JSON type checks.
struct TriggerRequest {
  std::optional<std::string> branch;              // default: the repository's default branch
  std::optional<std::string> commit;              // 7–40 hex, reachable from the branch
  std::optional<std::vector<std::string>> files;  // "x.toml" or ".kod/workflows/x.toml"
};

/// Validates (branch exists, commit on branch, files exist inside .kod/workflows/ and parse) and
/// queues a run pinned to one commit, then wakes the runners. Errors: 400 with the messages of
/// docs/api.md#workflow-runs, docs/api.md#order-of-checks ("Branch not found: <b>", "No workflow files on <b>", "<file>:<line>: …").
Result<domain::Run> TriggerRun(Env& env, const RepoRef& ref, const TriggerRequest& req);

/// Newest first; `limit` 1–500 (checked by the caller). Each step's output is cut to its last
/// limits::kRunListOutputTailBytes, and further (keeping ends) so that the outputs of the whole
/// list stay under limits::kMaxRunJsonBytes once escaped.
Result<std::vector<domain::Run>> ListRuns(Env& env, const RepoRef& ref, int limit);

/// One page of the repository's runs, newest first, with their number; outputs cut as in ListRuns.
Result<domain::Page<domain::Run>> ListRunsPage(Env& env, const RepoRef& ref, const domain::PageRequest& page);

/// The run with its steps, the running one included (with its output so far). Outputs are cut,
/// keeping their ends, so that the run's JSON stays under limits::kMaxRunJsonBytes.
/// 404 "Run not found" for an invalid id, or one of another repository.
Result<domain::Run> GetRun(Env& env, const RepoRef& ref, const std::string& id);

/// POST .../cancel: a queued run becomes cancelled at once; a running one is asked to stop (its
/// runner is woken, kills the current step's processes and records the run cancelled). Returns
/// the run as it is now. 404 as GetRun; 409 "Run already finished".
Result<domain::Run> CancelRun(Env& env, const RepoRef& ref, const std::string& id);

/// POST .../rerun: queues a new run of the same branch, commit and files, trigger rerun,
/// rerun_of the given run. 404 as GetRun.
Result<domain::Run> RerunRun(Env& env, const RepoRef& ref, const std::string& id);

/// Before a repository is deleted: cancels its queued runs, asks its running ones to stop, and
/// waits up to `wait_ms` for none to be running. Unavailable when one still runs then.
Status StopRunsOf(Env& env, int64_t repo_id, int64_t wait_ms);

/// GET /workflows/status: run counts by status and the newest runs over the repositories `who`
/// may see, and (admins only) the runners' liveness.
struct WorkflowStatus {
  std::vector<std::pair<domain::RunStatus, int64_t>> summary;
  std::vector<domain::Run> recent;                    // the 10 newest, without steps
  std::optional<std::vector<domain::RunnerInfo>> runners;  // admins only
};
Result<WorkflowStatus> GetWorkflowStatus(Env& env, const auth::Principal& who);

/// A piece of a run's log (docs/workflows.md#logs).
struct RunLogChunk {
  std::string text;         // the log from the asked offset, at most the asked length
  uint64_t size = 0;        // the whole log's size now
  domain::RunStatus status = domain::RunStatus::Queued;
};

/// Up to `max_bytes` of the log of run `id` of repository `repo_id` (the caller resolved and
/// authorised it) from byte `offset` (nothing when offset >= size). 404 "Run not found" as GetRun.
Result<RunLogChunk> ReadRunLog(Env& env, int64_t repo_id, const std::string& id, uint64_t offset,
                               uint64_t max_bytes);

/// One ref update as git's post-receive hook receives it on stdin: "<old> <new> <refname>".
struct RefUpdate {
  std::string old_oid, new_oid, ref;
};

/// docs/api.md#workflow-runs Push: every branch update (not deletions, not tags) whose new commit has
/// .kod/workflows/*.toml queues one run with trigger "push". Returns the lines to show the pusher
/// ("Kod: queued workflow run <id> for <branch>"). Each branch stands alone: one whose name cannot
/// be stored (over 255 characters, not UTF-8) or whose run fails to insert gets a line saying why
/// (never a database message) and the others still get their runs.
Result<std::vector<std::string>> QueuePushRuns(Env& env, int64_t repo_id, const std::string& repo_name,
                                               const std::vector<RefUpdate>& updates);

/// Sends a best-effort wake-up datagram to every runner socket in config.wake_dir, so a queued
/// run starts without waiting for the runners' polling interval.
void WakeRunners(const Config& config);

}  // namespace kod::service
