// Use cases of kod-jobs' queue (docs/jobs.md): queue a job, claim a due one exactly once, finish
// or retry it, and take back the jobs of a kod-jobs that died. What a job of each kind does is
// the kind's own use case (webhooks.h, imports.h, ...), called by jobs/kinds.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/core/status.h"
#include "lib/domain/job.h"
#include "lib/service/env.h"

namespace kod::service {

/// How long a claim holds a job without being extended: a kod-jobs that stops extending it
/// (killed, frozen, its host gone) loses its jobs this long after its last extension.
inline constexpr int64_t kJobLeaseMs = 60000;

/// What one attempt at a job came to: done (its kind recorded the outcome, success or not), or
/// to be tried again at `retry_at` (epoch ms).
struct JobOutcome {
  std::optional<int64_t> retry_at;
  bool count_attempt = true;  // false: the attempt never really happened (kod-jobs was stopping)

  static JobOutcome Done() { return {}; }
  static JobOutcome RetryAt(int64_t at, bool counted = true) { return {at, counted}; }
};

/// Queues a job of `kind` for `subject`, due at `due_at` (epoch ms). Call it inside the
/// transaction that creates the subject (so the two commit together), then WakeJobDaemons after
/// the commit. Throws db::SqlError like a store: only for use inside env.db.Run.
void EnqueueJobInTransaction(Env& env, const std::string& kind, const std::string& subject,
                             std::optional<int64_t> repo_id, int64_t due_at);

/// Sends a wake-up to every kod-jobs on this host (jobs.wake_dir), so a job queued now starts at
/// once rather than at the next poll.
void WakeJobDaemons(const Config& config);

/// Claims the oldest due job of one of `kinds` for `worker` (a conditional UPDATE: exactly one
/// claimer wins). nullopt: nothing due. Errors: Unavailable, Internal.
Result<std::optional<domain::Job>> ClaimNextJob(Env& env, const std::vector<std::string>& kinds,
                                                const std::string& worker);

/// Extends the lease of every job `worker` holds (call well within kJobLeaseMs).
Status ExtendJobLeases(Env& env, const std::string& worker);

/// The job is done (whatever its outcome, which its kind recorded): removed from the queue.
Status FinishJob(Env& env, const domain::Job& job, const std::string& worker);

/// The job goes back to the queue, due at `due_at`; `count_attempt` false when the attempt never
/// really happened (kod-jobs was stopping).
Status RetryJob(Env& env, const domain::Job& job, const std::string& worker, int64_t due_at, bool count_attempt);

/// Running jobs whose holder is gone: leases that expired, and jobs held by a kod-jobs of this
/// host whose process no longer exists (`is_dead(holder)`). Each is taken over by `worker`
/// (exactly one reaper gets each) and returned, for its kind to finish or retry.
Result<std::vector<domain::Job>> TakeOverAbandonedJobs(Env& env, const std::string& worker,
                                                       bool (*is_dead)(const std::string& holder));

}  // namespace kod::service
