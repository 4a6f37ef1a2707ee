#include "runner/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/wake.h"
#include "lib/proc/instance.h"
#include "lib/proc/tree.h"
#include "lib/service/env.h"
#include "lib/service/execution.h"
#include "runner/run_executor.h"

namespace kod::runner {
namespace {

constexpr int64_t kHeartbeatMs = 2000;
constexpr int64_t kStaleMs = 15000;  // a runner that has not beaten for this long is dead
constexpr int64_t kReapIntervalMs = 5000;
constexpr int kPollFallbackMs = 1000;
constexpr int kSleepSliceMs = 100;   // sleeps are cut in slices so a SIGTERM is seen at once
constexpr int kStopWaitMs = 3000;    // on SIGTERM, how long executors get to record their step

// SIGKILLs every process on this host whose environment carries KOD_RUN_ID=<run_id> (every step
// process inherits it, docs/workflows.md), and each of their sessions: the leftovers of a run
// whose runner died (a SIGKILLed runner could not clean up after its steps).
void KillRunProcesses(const std::string& run_id) {
  const std::string marker = "KOD_RUN_ID=" + run_id;
  const pid_t self = getpid(), own_sid = getsid(0);
  std::set<pid_t> sessions;
  for (const proc::ProcStat& p : proc::ScanProcs()) {
    if (p.pid <= 1 || p.pid == self || !proc::EnvironHas(p.pid, marker)) continue;
    if (p.sid > 1 && p.sid != own_sid) sessions.insert(p.sid);
    kill(p.pid, SIGKILL);
  }
  for (pid_t sid : sessions) kill(-sid, SIGKILL);  // a session leader's group: what escaped by setsid
}

// Removes the workspace of a run that will not finish normally (its executor is gone).
void RemoveWorkspace(const Config& config, const std::string& run_id) {
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(config.workspace_dir) / run_id, ec);
}

// Fails running runs whose runner is gone: heartbeat older than kStaleMs, or (same host) a runner
// process that no longer exists.
void ReapAbandoned(service::Env& env, const std::string& self) {
  const int64_t now = NowMs();
  if (auto stale = service::StaleRuns(env, now - kStaleMs); stale.ok()) {
    for (const domain::Run& r : *stale) {
      auto failed = service::FailAbandonedRun(env, r, "Runner lost", "The runner executing this run stopped responding",
                                              now, now - kStaleMs);
      if (failed.ok() && *failed) {
        log::Warn("run " + r.id + " failed: its runner stopped responding");
        KillRunProcesses(r.id);
        RemoveWorkspace(env.config, r.id);
      }
    }
  }
  auto running = service::RunningRuns(env);
  if (!running.ok()) return;
  for (const domain::Run& r : *running) {
    const std::string& owner = r.runner_id;
    if (owner == self) continue;
    if (!proc::InstanceGone(owner)) continue;
    auto failed = service::FailAbandonedRun(env, r, "Runner lost", "The runner executing this run exited (" + owner + ")",
                                            NowMs(), std::nullopt);
    if (failed.ok() && *failed) {
      log::Warn("run " + r.id + " failed: its runner " + owner + " is gone");
      KillRunProcesses(r.id);
      RemoveWorkspace(env.config, r.id);
    }
  }
}

volatile sig_atomic_t g_stop = 0;
int g_wake_pipe[2] = {-1, -1};
void OnTerm(int) {
  g_stop = 1;
  if (g_wake_pipe[1] >= 0) (void)!write(g_wake_pipe[1], "x", 1);
}

// SIGKILLs every process that descends from this one, or whose session was started by one of them.
void KillDescendants() {
  for (pid_t pid : proc::Descendants(proc::ScanProcs(), getpid(), /*with_sessions=*/true)) kill(pid, SIGKILL);
}

// Runs whose cancel was asked, by id: filled by the dispatcher when woken and by the heartbeat,
// read by the executors (RunShell looks at it about every 100 ms).
class Cancellations {
 public:
  void Refresh(service::Env& env, const std::string& self) {
    auto ids = service::CancelRequestedRuns(env, self);
    if (!ids.ok() || ids->empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    for (std::string& id : *ids)
      if (ids_.insert(std::move(id)).second) log::Info("run " + *ids_.rbegin() + ": cancel asked");
  }
  bool Has(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_.count(id) != 0;
  }
  void Forget(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    ids_.erase(id);
  }

 private:
  std::mutex mu_;
  std::set<std::string> ids_;
};

// One kod-runner: an executor pool fed by a claim loop, a heartbeat, and a stop path.
class Daemon {
 public:
  Daemon(const Config& config, const crypto::SecretKey* key)
      : config_(config), key_(key), self_(proc::NewInstanceId()), dispatcher_(config, key) {}

  // The story: wake-up socket, executors, heartbeat, claims until SIGTERM, then the stop path.
  void Run() {
    wake_sock_ = wake::Bind(config_.wake_dir, "runner", wake_path_);
    if (!wake_sock_) log::Warn("runner.wake_dir: cannot bind a wake socket in " + config_.wake_dir + "; polling only");
    std::error_code ec;
    std::filesystem::create_directories(config_.workspace_dir, ec);
    // Step users (other uids) must pass through to their own run's directory, and see nothing else.
    chmod(config_.workspace_dir.c_str(), 0711);
    ReapAbandoned(dispatcher_.env(), self_);
    log::Info("runner " + self_ + " ready (concurrency " + std::to_string(config_.runner_concurrency) + ")");
    for (int i = 0; i < config_.runner_concurrency; ++i) executors_.emplace_back([this, i] { Executor(i); });
    std::thread beat([this] { Heartbeat(); });
    ClaimLoop();
    Stop();
    beat.join();
    (void)service::RemoveRunner(dispatcher_.env(), self_);  // after the last heartbeat
  }

 private:
  // A fixed pool of executors, each with its own database connection for its whole life (a
  // connection per run cost several ms per run: bench/runner). Each slot has its own step user:
  // concurrent runs never share a uid (/proc/<pid>/environ of one run's steps is unreadable to
  // another's).
  void Executor(int slot) {
    service::OwnedEnv own(config_, key_);
    RunContext ctx;
    ctx.runner_id = self_;
    if (config_.step_uid_base > 0) ctx.uid = ctx.gid = config_.step_uid_base + slot;
    ctx.stopping = [] { return g_stop != 0; };
    ctx.cancelled = [this](const std::string& id) { return cancels_.Has(id); };
    while (true) {
      domain::Run run;
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        queue_cv_.wait(lock, [&] { return !queue_.empty() || g_stop; });
        if (queue_.empty()) return;
        run = std::move(queue_.front());
        queue_.pop_front();
      }
      ExecuteRun(own.env(), run, ctx);
      cancels_.Forget(run.id);
      --busy_;
      if (g_wake_pipe[1] >= 0) (void)!write(g_wake_pipe[1], "x", 1);  // a slot is free
    }
  }

  // Heartbeat (runs and the runner's liveness row), cancels in case a wake-up was lost, and the
  // reaper of other runners' abandoned runs: its own connection (a Session is not thread-safe).
  void Heartbeat() {
    service::OwnedEnv hb(config_, key_);
    int64_t last_reap = 0;
    domain::RunnerInfo me{self_, self_.substr(0, self_.find('/')), NowMs(), 0, config_.runner_concurrency, 0};
    while (!g_stop) {
      (void)service::Heartbeat(hb.env(), self_);
      me.busy = busy_.load();
      (void)service::BeatRunner(hb.env(), me);
      if (me.busy > 0) cancels_.Refresh(hb.env(), self_);
      if (MonotonicMs() - last_reap > kReapIntervalMs) {
        ReapAbandoned(hb.env(), self_);
        last_reap = MonotonicMs();
      }
      for (int i = 0; i < kHeartbeatMs / kSleepSliceMs && !g_stop; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(kSleepSliceMs));
    }
  }

  // Claims while a slot is free; then sleeps until a wake-up (a new run, a cancel, a free slot)
  // or the polling fallback.
  void ClaimLoop() {
    while (!g_stop) {
      if (ClaimWhileFree()) continue;
      const int wake_fd = wake_sock_.get();
      pollfd fds[2] = {{g_wake_pipe[0], POLLIN, 0}, {wake_fd, POLLIN, 0}};
      poll(fds, wake_fd >= 0 ? 2 : 1, kPollFallbackMs);
      char buf[64];
      while (read(g_wake_pipe[0], buf, sizeof buf) > 0) {
      }
      if (wake_fd >= 0) wake::Drain(wake_fd);
      // A wake-up also says "a cancel was asked": one query, only when woken with runs going.
      if (wake_fd >= 0 && (fds[1].revents & POLLIN) != 0 && busy_.load() > 0) cancels_.Refresh(dispatcher_.env(), self_);
    }
  }

  // Claims runs into the executors' queue while fewer than runner.concurrency run. True if any.
  bool ClaimWhileFree() {
    bool claimed_any = false;
    while (!g_stop && busy_.load() < config_.runner_concurrency) {
      auto claimed = service::ClaimNextRun(dispatcher_.env(), self_);
      if (!claimed.ok() || !*claimed) break;
      std::optional<domain::Run>& run = *claimed;
      claimed_any = true;
      ++busy_;
      log::Info("run " + run->id + " claimed (" + run->repo_name + " " + run->branch + ")");
      {
        std::lock_guard<std::mutex> lock(queue_mu_);
        queue_.push_back(std::move(*run));
      }
      queue_cv_.notify_one();
    }
    return claimed_any;
  }

  // SIGTERM: nothing new; running steps are killed first (executors then record the interrupted
  // step and start no other), then what is still running is failed with a step that says why.
  void Stop() {
    log::Info("stopping: killing running steps");
    queue_cv_.notify_all();
    for (int round = 0; round < 2; ++round) KillDescendants();
    for (int i = 0; i < kStopWaitMs / kSleepSliceMs && busy_.load() > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(kSleepSliceMs));
    if (auto mine = service::RunningRunsOf(dispatcher_.env(), self_); mine.ok()) {
      for (const domain::Run& r : *mine) {
        (void)service::FailAbandonedRun(dispatcher_.env(), r, "Runner stopped",
                                        "The runner was stopped (SIGTERM) while this run was executing", NowMs(),
                                        std::nullopt);
        RemoveWorkspace(config_, r.id);
      }
    }
    if (wake_sock_) unlink(wake_path_.c_str());
    for (int round = 0; round < 2; ++round) KillDescendants();
    for (std::thread& t : executors_) t.detach();  // blocked in a step of a killed tree at worst
  }

  const Config& config_;
  const crypto::SecretKey* key_;
  const std::string self_;  // its instance id in workflow_runs.runner_id ("<host>/<pid>/<nonce>")
  service::OwnedEnv dispatcher_;
  UniqueFd wake_sock_;
  std::string wake_path_;
  std::atomic<int> busy_{0};  // claimed runs not finished yet
  Cancellations cancels_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<domain::Run> queue_;
  std::vector<std::thread> executors_;
};

}  // namespace

int RunDaemon(const Config& config, const crypto::SecretKey* key) {
  if (pipe2(g_wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  struct sigaction sa{};
  sa.sa_handler = OnTerm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGCHLD, SIG_DFL);
  signal(SIGHUP, SIG_IGN);  // nothing to reload: a HUP (e.g. a closed terminal) must not kill runs
  // Never destroyed: executors may still sit in a killed step, and the process ends with _exit.
  auto* daemon = new Daemon(config, key);
  daemon->Run();
  _exit(0);
}

}  // namespace kod::runner
