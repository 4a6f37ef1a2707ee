#include "lib/service/jobs.h"

#include "lib/core/clock.h"
#include "lib/core/wake.h"
#include "lib/store/jobs.h"

namespace kod::service {

void EnqueueJobInTransaction(Env& env, const std::string& kind, const std::string& subject,
                             std::optional<int64_t> repo_id, int64_t due_at) {
  store::JobStore(env.db).Insert(kind, subject, repo_id, due_at, NowMs());
}

void WakeJobDaemons(const Config& config) { wake::All(config.jobs_wake_dir); }

Result<std::optional<domain::Job>> ClaimNextJob(Env& env, const std::vector<std::string>& kinds,
                                                const std::string& worker) {
  return env.db.Get<std::optional<domain::Job>>([&]() -> Result<std::optional<domain::Job>> {
    const int64_t now = NowMs();
    return store::JobStore(env.db).ClaimNext(kinds, worker, now, now + kJobLeaseMs);
  });
}

Status ExtendJobLeases(Env& env, const std::string& worker) {
  return env.db.Run([&] {
    store::JobStore(env.db).ExtendLeases(worker, NowMs() + kJobLeaseMs);
    return Status::Ok();
  });
}

Status FinishJob(Env& env, const domain::Job& job, const std::string& worker) {
  return env.db.Run([&] {
    store::JobStore(env.db).Finish(job.id, worker);
    return Status::Ok();
  });
}

Status RetryJob(Env& env, const domain::Job& job, const std::string& worker, int64_t due_at, bool count_attempt) {
  return env.db.Run([&] {
    store::JobStore(env.db).Release(job.id, worker, due_at, count_attempt);
    return Status::Ok();
  });
}

Result<std::vector<domain::Job>> TakeOverAbandonedJobs(Env& env, const std::string& worker,
                                                       bool (*is_dead)(const std::string& holder)) {
  return env.db.Get<std::vector<domain::Job>>([&]() -> Result<std::vector<domain::Job>> {
    store::JobStore jobs(env.db);
    const int64_t now = NowMs();
    std::vector<domain::Job> taken;
    for (domain::Job& j : jobs.Running()) {
      if (j.claimed_by == worker || (j.lease_until >= now && !is_dead(j.claimed_by))) continue;
      if (!jobs.TakeOver(j.id, j.claimed_by, worker, now + kJobLeaseMs)) continue;
      j.claimed_by = worker;
      taken.push_back(j);
    }
    return taken;
  });
}

}  // namespace kod::service
