// The kinds of background job kod-jobs runs (docs/jobs.md#adding-a-kind): one row each, naming the
// use case that runs one attempt and what to do with a job whose kod-jobs died during an attempt.
#pragma once

#include <functional>
#include <vector>

#include "lib/domain/job.h"
#include "lib/service/env.h"
#include "lib/service/jobs.h"

namespace kod::jobs {

/// What an attempt may ask of the daemon running it.
struct JobContext {
  /// True once kod-jobs is stopping (SIGTERM): a long attempt ends early and says how.
  std::function<bool()> stopping;
};

struct Kind {
  const char* name;  // jobs.kind; the name the enqueuing use case uses
  /// Runs one attempt of `job`.
  service::JobOutcome (*run)(service::Env& env, const domain::Job& job, const JobContext& ctx);
  /// A job taken back from a kod-jobs that died during an attempt: records what that means for
  /// the subject (e.g. a failed attempt, or a failed import) and says whether to try again.
  service::JobOutcome (*abandoned)(service::Env& env, const domain::Job& job);
  /// Housekeeping of the kind (e.g. pruning old records), run every few minutes by one thread;
  /// may be null.
  void (*periodic)(service::Env& env);
};

/// Every kind, in one table (jobs/kinds.cpp).
const std::vector<Kind>& Kinds();

}  // namespace kod::jobs
