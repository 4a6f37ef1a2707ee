#include "jobs/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "jobs/kinds.h"
#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/wake.h"
#include "lib/proc/instance.h"
#include "lib/service/jobs.h"

namespace kod::jobs {
namespace {

constexpr int64_t kKeepEveryMs = 10000;      // lease extension and reaping (well within kJobLeaseMs)
constexpr int64_t kPeriodicEveryMs = 300000; // housekeeping of the kinds
constexpr int kIdlePollMs = 1000;            // a worker with nothing due looks again this often
constexpr int kSliceMs = 100;                // sleeps are cut so a SIGTERM is seen at once

std::atomic<bool> g_stop{false};
int g_stop_pipe[2] = {-1, -1};
void OnTerm(int) {
  g_stop = true;
  if (g_stop_pipe[1] >= 0) (void)!write(g_stop_pipe[1], "x", 1);
}

const Kind* FindKind(const std::string& name) {
  for (const Kind& k : Kinds())
    if (name == k.name) return &k;
  return nullptr;
}

std::vector<std::string> KindNames() {
  std::vector<std::string> out;
  for (const Kind& k : Kinds()) out.push_back(k.name);
  return out;
}

// Settles a job after an attempt (or after taking it back from a dead instance).
void Settle(service::Env& env, const domain::Job& job, const std::string& self, const service::JobOutcome& out) {
  Status s = out.retry_at ? service::RetryJob(env, job, self, *out.retry_at, out.count_attempt)
                          : service::FinishJob(env, job, self);
  if (!s.ok()) log::Warn("job " + std::to_string(job.id) + ": not settled (" + s.message + "); its lease will expire");
}

// Wakes idle workers: on a wake-up datagram (a job was queued) or a stop.
struct Bell {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t rings = 0;
  void Ring() {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++rings;
    }
    cv.notify_all();
  }
  // Waits up to `ms` for a ring after `seen`.
  void Wait(uint64_t seen, int ms) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return rings != seen || g_stop; });
  }
};

void WorkerLoop(const Config& config, const crypto::SecretKey* key, const std::string& self, Bell& bell) {
  service::OwnedEnv own(config, key);
  const std::vector<std::string> kinds = KindNames();
  JobContext ctx{[] { return g_stop.load(); }};
  while (!g_stop) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(bell.mu);
      seen = bell.rings;
    }
    auto claimed = service::ClaimNextJob(own.env(), kinds, self);
    if (!claimed.ok() || !*claimed) {
      bell.Wait(seen, kIdlePollMs);
      continue;
    }
    const domain::Job& job = **claimed;
    const Kind* kind = FindKind(job.kind);
    log::Debug("job " + std::to_string(job.id) + " claimed (" + job.kind + " " + job.subject + ")");
    Settle(own.env(), job, self, kind->run(own.env(), job, ctx));
  }
}

// Lease extension, jobs of dead instances, and the kinds' housekeeping.
void KeeperLoop(const Config& config, const crypto::SecretKey* key, const std::string& self) {
  service::OwnedEnv own(config, key);
  int64_t last_periodic = 0;
  while (!g_stop) {
    (void)service::ExtendJobLeases(own.env(), self);
    if (auto taken = service::TakeOverAbandonedJobs(own.env(), self, proc::InstanceGone); taken.ok()) {
      for (const domain::Job& job : *taken) {
        const Kind* kind = FindKind(job.kind);
        if (kind == nullptr) continue;
        log::Warn("job " + std::to_string(job.id) + " (" + job.kind + " " + job.subject + ") taken back from a lost instance");
        Settle(own.env(), job, self, kind->abandoned(own.env(), job));
      }
    }
    if (last_periodic == 0 || MonotonicMs() - last_periodic >= kPeriodicEveryMs) {
      for (const Kind& k : Kinds())
        if (k.periodic != nullptr) k.periodic(own.env());
      last_periodic = MonotonicMs();
    }
    for (int64_t i = 0; i < kKeepEveryMs / kSliceMs && !g_stop; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(kSliceMs));
  }
}

}  // namespace

int RunDaemon(const Config& config, const crypto::SecretKey* key) {
  if (pipe2(g_stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  struct sigaction sa{};
  sa.sa_handler = OnTerm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);

  const std::string self = proc::NewInstanceId();
  std::string wake_path;
  UniqueFd wake_fd = wake::Bind(config.jobs_wake_dir, "jobs", wake_path);
  if (!wake_fd) log::Warn("jobs.wake_dir: cannot bind a wake socket in " + config.jobs_wake_dir + "; polling only");

  Bell bell;
  std::vector<std::thread> threads;
  threads.emplace_back([&] { KeeperLoop(config, key, self); });
  for (int i = 0; i < config.jobs_concurrency; ++i) threads.emplace_back([&] { WorkerLoop(config, key, self, bell); });
  log::Info("kod-jobs " + self + " ready (concurrency " + std::to_string(config.jobs_concurrency) + ")");

  while (!g_stop) {
    pollfd fds[2] = {{g_stop_pipe[0], POLLIN, 0}, {wake_fd.get(), POLLIN, 0}};
    if (poll(fds, wake_fd ? 2 : 1, -1) <= 0) continue;
    if (wake_fd && (fds[1].revents & POLLIN)) {
      wake::Drain(wake_fd.get());
      bell.Ring();
    }
  }
  log::Info("stopping: waiting for attempts in progress");
  bell.Ring();
  for (std::thread& t : threads) t.join();
  if (wake_fd) unlink(wake_path.c_str());
  log::Info("stopped");
  return 0;
}

}  // namespace kod::jobs
