// Step executor: runs one `run` line of a workflow step in its own session, captures its output,
// enforces the deadline and kills every process the step leaves behind (docs/workflows.md).
#include "runner/executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "lib/core/clock.h"
#include "lib/core/fd.h"
#include "lib/core/log.h"
#include "lib/proc/spawn.h"
#include "lib/proc/tree.h"

namespace kod::runner {
namespace {

constexpr int64_t kScanIntervalMs = 100;      // /proc scan while the step runs (see header)
constexpr int64_t kCleanupBudgetMs = 5000;    // give up on unkillable (D state) leftovers after this
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxReadPerWake = 1 << 20;  // then look at the clock again

// Process-wide state shared by concurrent RunShell calls.
struct Registry {
  // Serialises our spawns: between pipe2() and closing the parent's copy of the write end no
  // other RunShell may fork, so no other step's process ever holds this step's write end (the
  // "holds our pipe" rule relies on it). It is also held while a step adopts orphans, so that
  // every shell we started is in `shells` by then. (Boost's exec-error pipe is made
  // close-on-exec only after pipe(2): serialising keeps our spawns out of each other's window.)
  std::mutex spawn;
  std::mutex mu;  // guards the two below
  std::unordered_set<pid_t> shells;  // shells of RunShell calls, until reaped
  struct Claim {
    uint64_t start;
    const void* step;
  };
  std::unordered_map<pid_t, Claim> claims;  // processes attributed to a running step
};

Registry& Reg() {
  static Registry r;
  return r;
}

// ---- one running step ---------------------------------------------------------------------------

// The shell of one step and everything attributed to it. The destructor kills and reaps whatever
// is left if RunShell did not get to (an exception from OutputCapture, say).
class Step {
 public:
  Step(pid_t sh, UniqueFd read_end)
      : sh_(sh), self_(::getpid()), runner_sid_(::getsid(0)), out_(std::move(read_end)) {
    struct stat st {};
    if (::fstat(out_.get(), &st) == 0) pipe_ino_ = st.st_ino;
    pidfd_ = proc::PidfdOpen(sh_);
    if (auto p = proc::ReadStat(sh_)) sh_start_ = p->start;
  }
  ~Step() {
    if (!reaped_) {
      if (!lost_) {
        ::kill(sh_, SIGKILL);  // still our unreaped child: the pid cannot have been reused
        siginfo_t si{};
        while (::waitid(P_PID, static_cast<id_t>(sh_), &si, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
        }
      }
      KillLeftovers();
      Reap();
    }
    Unregister(/*shell=*/false);
  }
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

  int out_fd() const { return out_.get(); }
  // CPU and peak RSS of what was reaped: the shell with every descendant it waited for, and
  // each leftover reaped here (orphans included).
  int64_t cpu_ms() const { return cpu_us_ / 1000; }
  int64_t max_rss_kb() const { return max_rss_kb_; }
  int pidfd() const { return pidfd_.get(); }

  // Whether the shell has exited; it is not reaped (a zombie keeps its pid, which is also the
  // step's session and process group id, from being reused while we clean up).
  bool Exited() {
    siginfo_t si{};
    if (::waitid(P_PID, static_cast<id_t>(sh_), &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
      if (errno == EINTR) return false;
      // ECHILD: someone else reaped our child (SIGCHLD ignored, a stray waitpid(-1)).
      log::Error(std::string("runner: waitid on step shell failed: ") + std::strerror(errno));
      lost_ = true;
      return true;
    }
    return si.si_pid == sh_;
  }

  // One /proc scan: remembers the step's processes. Returns how many are alive (shell excluded).
  std::size_t Track() {
    std::size_t alive = 0;
    for (const proc::ProcStat& p : Attribute(proc::ScanProcs(), /*adopt_orphans=*/false))
      if (p.state != 'Z') ++alive;
    return alive;
  }

  // Sends `sig` to every process of the step, the shell included.
  void SignalAll(int sig) {
    if (!lost_ && !reaped_) ::kill(-sh_, sig);  // the step's process group (the shell leads it)
    for (const proc::ProcStat& p : Attribute(proc::ScanProcs(), /*adopt_orphans=*/false))
      if (p.state != 'Z') proc::SignalIfSame(p, sig);
  }

  // After the shell has exited: SIGKILLs and reaps every process of the step, orphans adopted
  // included, until none is left (or the budget is spent).
  void KillLeftovers() {
    const int64_t give_up = MonotonicMs() + kCleanupBudgetMs;
    std::size_t killed = 0;
    for (;;) {
      bool pending = false;
      {
        // Held while adopting orphans: every shell of a RunShell call is registered by then.
        std::lock_guard<std::mutex> spawn_lock(Reg().spawn);
        if (!lost_ && !reaped_) ::kill(-sh_, SIGKILL);
        std::vector<proc::ProcStat> mine = Attribute(proc::ScanProcs(), /*adopt_orphans=*/true);
        std::unordered_set<pid_t> alive;
        for (const proc::ProcStat& p : mine)
          if (p.state != 'Z') alive.insert(p.pid);
        for (const proc::ProcStat& p : mine) {
          if (p.state != 'Z') {
            proc::SignalIfSame(p, SIGKILL);
            ++killed;
            pending = true;
          } else if (p.ppid == self_) {
            // A zombie of the step that was reparented to us: ours to reap. (Nobody else reaps
            // it, and its (pid, start) was just read while it was our child, so not reused.)
            struct rusage ru {};
            pid_t got;
            while ((got = ::wait4(p.pid, nullptr, WNOHANG, &ru)) < 0 && errno == EINTR) {
            }
            if (got == p.pid) AddUsage(ru);
            pending = true;
          } else if (alive.count(p.ppid) != 0) {
            pending = true;  // reparented to us once its parent dies
          }
        }
      }
      if (!pending) break;
      if (MonotonicMs() >= give_up) {
        log::Warn("runner: step leftovers still present after " +
                  std::to_string(kCleanupBudgetMs) + " ms of SIGKILL (uninterruptible?)");
        break;
      }
      ::poll(nullptr, 0, 5);
    }
    if (killed > 0) log::Debug("runner: killed leftover processes of a step: " + std::to_string(killed));
  }

  // Reads what the pipe holds now, up to kMaxReadPerWake. Returns true at EOF (or on error).
  bool ReadAvailable(OutputCapture& sink) {
    std::size_t total = 0;
    while (total < kMaxReadPerWake) {
      ssize_t n = ::read(out_.get(), buf_.data(), buf_.size());
      if (n > 0) {
        sink.Append(std::string_view(buf_.data(), static_cast<std::size_t>(n)));
        total += static_cast<std::size_t>(n);
      } else if (n == 0) {
        return true;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return false;
      } else {
        log::Warn(std::string("runner: reading step output: ") + std::strerror(errno));
        return true;
      }
    }
    return false;
  }

  // Reaps the shell (call after KillLeftovers); returns its exit code (128+N for signal N, -1 if
  // lost).
  int Reap() {
    reaped_ = true;
    int code = -1;
    int status = 0;
    if (!lost_) {
      struct rusage ru {};
      pid_t got;
      while ((got = ::wait4(sh_, &status, 0, &ru)) < 0 && errno == EINTR) {
      }
      if (got == sh_) AddUsage(ru);
      if (WIFEXITED(status)) code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) code = 128 + WTERMSIG(status);
    }
    Unregister(/*shell=*/true);
    return code;
  }

 private:
  // Processes of the step in `procs`, shell excluded. Rules (executor.h):
  //  - the step's session; anything remembered from earlier scans (pid and start time); a child
  //    of ours that holds the write end of the step's pipe; and all their descendants;
  //  - with `adopt_orphans` (only once the shell has exited, under the spawn lock): also every
  //    child of ours outside our session that started after the shell, is not another call's
  //    shell and is not claimed by another running step. While a shell lives, its step's
  //    orphans reparent to it (it is a subreaper), so such a process belongs to a step whose
  //    shell has exited: one whose leftovers are due to be killed anyway.
  // Found processes are remembered and claimed in the registry, so a process stays attributed
  // after it leaves the session or loses its parent, and other steps leave it alone.
  std::vector<proc::ProcStat> Attribute(const std::vector<proc::ProcStat>& procs, bool adopt_orphans) {
    std::unordered_map<pid_t, std::vector<std::size_t>> children;
    for (std::size_t i = 0; i < procs.size(); ++i) children[procs[i].ppid].push_back(i);
    // Never the runner itself, nor anything in its session: a step cannot join it (setsid makes
    // a new session, setpgid stays within one), while other modules' children live there.
    auto eligible = [&](const proc::ProcStat& p) { return p.pid != self_ && p.sid != runner_sid_; };
    const bool session_known = !lost_ && !reaped_;  // else the sid may name someone else now

    Registry& reg = Reg();
    std::lock_guard<std::mutex> lock(reg.mu);
    auto claimed_by_other = [&](const proc::ProcStat& p) {
      auto it = reg.claims.find(p.pid);
      return it != reg.claims.end() && it->second.step != this && it->second.start == p.start;
    };

    std::vector<char> mark(procs.size(), 0);
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < procs.size(); ++i) {
      const proc::ProcStat& p = procs[i];
      if (!eligible(p)) continue;
      bool ours = (session_known && (p.pid == sh_ || p.sid == sh_));
      if (!ours) {
        auto it = known_.find(p.pid);
        ours = it != known_.end() && it->second == p.start;
      }
      if (!ours && p.ppid == self_ && p.state != 'Z' && pipe_ino_ != 0)
        ours = proc::HoldsPipeWriteEnd(p.pid, pipe_ino_);
      if (!ours && adopt_orphans && p.ppid == self_ && sh_start_ != 0 && p.start >= sh_start_ &&
          reg.shells.count(p.pid) == 0 && !claimed_by_other(p))
        ours = true;
      if (ours) {
        mark[i] = 1;
        todo.push_back(i);
      }
    }
    while (!todo.empty()) {  // descendants of anything attributed
      std::size_t i = todo.back();
      todo.pop_back();
      auto it = children.find(procs[i].pid);
      if (it == children.end()) continue;
      for (std::size_t j : it->second) {
        if (mark[j] || !eligible(procs[j])) continue;
        mark[j] = 1;
        todo.push_back(j);
      }
    }

    for (const auto& [pid, start] : known_) {  // drop our old claims...
      auto it = reg.claims.find(pid);
      if (it != reg.claims.end() && it->second.step == this) reg.claims.erase(it);
    }
    std::unordered_map<pid_t, uint64_t> still_known;
    std::vector<proc::ProcStat> out;
    for (std::size_t i = 0; i < procs.size(); ++i) {
      const proc::ProcStat& p = procs[i];
      if (!mark[i] || p.pid == sh_) continue;
      out.push_back(p);
      still_known.emplace(p.pid, p.start);
      auto [it, fresh] = reg.claims.emplace(p.pid, Registry::Claim{p.start, this});  // ...and
      if (!fresh && it->second.start != p.start) it->second = {p.start, this};  // the new ones
    }
    known_ = std::move(still_known);  // the gone ones drop out: bounded, and no stale pids
    return out;
  }

  void AddUsage(const struct rusage& ru) {
    cpu_us_ += static_cast<int64_t>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
               ru.ru_stime.tv_usec;
    max_rss_kb_ = std::max<int64_t>(max_rss_kb_, ru.ru_maxrss);  // Linux: KiB
  }

  // Forgets the shell (once reaped) or the claims (at the end) in the registry.
  void Unregister(bool shell) {
    Registry& reg = Reg();
    std::lock_guard<std::mutex> lock(reg.mu);
    if (shell) {
      reg.shells.erase(sh_);
      return;
    }
    for (const auto& [pid, start] : known_) {
      auto it = reg.claims.find(pid);
      if (it != reg.claims.end() && it->second.step == this) reg.claims.erase(it);
    }
    known_.clear();
  }

  const pid_t sh_;
  const pid_t self_;
  const pid_t runner_sid_;
  UniqueFd out_;
  UniqueFd pidfd_;
  ino_t pipe_ino_ = 0;
  uint64_t sh_start_ = 0;
  std::unordered_map<pid_t, uint64_t> known_;
  std::vector<char> buf_ = std::vector<char>(kReadChunk);
  bool lost_ = false;
  bool reaped_ = false;
  int64_t cpu_us_ = 0;
  int64_t max_rss_kb_ = 0;
};

std::string Validate(const ShellCommand& cmd) {
  if (cmd.script.find('\0') != std::string::npos) return "command contains a NUL byte";
  if (cmd.cwd.empty() || cmd.cwd[0] != '/') return "working directory must be an absolute path";
  if (cmd.cwd.find('\0') != std::string::npos) return "working directory contains a NUL byte";
  for (const auto& [k, v] : cmd.env) {
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos)
      return "invalid environment variable name";
    if (v.find('\0') != std::string::npos) return "environment value contains a NUL byte";
  }
  struct stat st {};
  if (::stat(cmd.cwd.c_str(), &st) != 0)
    return "working directory " + cmd.cwd + ": " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return "working directory " + cmd.cwd + ": not a directory";
  struct sigaction sa {};
  if (::sigaction(SIGCHLD, nullptr, &sa) == 0 &&
      (sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDWAIT) != 0))
    return "SIGCHLD is ignored in the runner: children cannot be waited for";
  return {};
}

struct Spawned {
  pid_t pid = -1;
  UniqueFd read_end;
};

std::optional<Spawned> Spawn(const ShellCommand& cmd, std::string* error) {
  proc::SpawnSpec spec;
  spec.exe = "/bin/sh";
  spec.args = {"-s"};  // the script comes on stdin: nothing of it in the command line
  spec.env.assign(cmd.env.begin(), cmd.env.end());
  spec.cwd = cmd.cwd;
  spec.leader = proc::Leader::kSession;
  // Orphans of the step's own descendants stay under the shell while it lives (visible to our
  // scans as its descendants) instead of reaching the runner, where they would be anonymous.
  spec.subreaper = true;
  // Drop to the step's own user: the runner's user can read every repository and the keys.
  spec.uid = cmd.run_as_uid;
  spec.gid = cmd.run_as_gid;

  auto script = MakeMemFd("kod-step", cmd.script);
  if (!script.ok()) {
    *error = script.status().message;
    return std::nullopt;
  }
  spec.stdin_fd = script->get();

  std::lock_guard<std::mutex> lock(Reg().spawn);
  auto pipe = MakePipe();
  if (!pipe.ok()) {
    *error = pipe.status().message;
    return std::nullopt;
  }
  spec.stdout_fd = spec.stderr_fd = pipe->write.get();
  auto pid = proc::Spawn(spec);
  pipe->write.Reset();  // only the step's processes hold it now
  if (!pid.ok()) {
    *error = pid.status().message;
    return std::nullopt;
  }
  {
    std::lock_guard<std::mutex> g(Reg().mu);
    Reg().shells.insert(*pid);  // before the spawn lock goes: see Registry
  }
  SetNonBlocking(pipe->read.get());
  return Spawned{*pid, std::move(pipe->read)};
}

}  // namespace

void BecomeSubreaper() {
  if (!proc::BecomeSubreaper())
    log::Error(std::string("runner: PR_SET_CHILD_SUBREAPER failed: ") + std::strerror(errno) +
               "; escaped step processes will not be found");
}

CommandResult RunShell(const ShellCommand& cmd, OutputCapture& out) {
  CommandResult r;
  r.spawn_error = Validate(cmd);
  if (!r.spawn_error.empty()) return r;
  if (MonotonicMs() >= cmd.deadline_ms) {
    r.timed_out = true;
    return r;
  }
  auto spawned = Spawn(cmd, &r.spawn_error);
  if (!spawned) return r;

  Step step(spawned->pid, std::move(spawned->read_end));
  bool exited = false, eof = false, term_sent = false, kill_sent = false;
  int64_t exit_at = 0, kill_at = 0;
  int64_t next_scan = MonotonicMs() + kScanIntervalMs;
  std::size_t alive_after_exit = 1;  // unknown until the first scan after the shell exits

  for (;;) {
    const int64_t now = MonotonicMs();
    if (!exited && step.Exited()) {
      exited = true;
      exit_at = now;
      next_scan = now;  // look for survivors at once if the grace period matters
    }
    const bool in_grace = term_sent && !kill_sent && now < kill_at;
    if (exited) {
      // Normally: wait for EOF, or give leftovers drain_ms. After a timeout: the rest of the step
      // keeps its grace period (docs/workflows.md) unless nothing of it is left.
      if (!in_grace && (eof || now >= exit_at + cmd.drain_ms)) break;
      if (in_grace && eof && alive_after_exit == 0) break;
    }
    if (!term_sent && !exited && cmd.cancelled && cmd.cancelled()) {
      r.cancelled = true;
      term_sent = true;
      kill_at = now + cmd.kill_grace_ms;
      step.SignalAll(SIGTERM);
    }
    if (!term_sent && !exited && now >= cmd.deadline_ms) {
      r.timed_out = true;
      term_sent = true;
      kill_at = now + cmd.kill_grace_ms;
      step.SignalAll(SIGTERM);
    }
    if (term_sent && !kill_sent && now >= kill_at) {
      kill_sent = true;
      step.SignalAll(SIGKILL);
    }
    if (now >= next_scan && (!exited || in_grace)) {
      std::size_t alive = step.Track();
      if (exited) alive_after_exit = alive;
      next_scan = now + kScanIntervalMs;
    }

    int64_t wake = now + 1000;
    if (!exited || in_grace) wake = std::min(wake, next_scan);
    if (!term_sent && !exited) wake = std::min(wake, cmd.deadline_ms);
    if (term_sent && !kill_sent) wake = std::min(wake, kill_at);
    if (exited && !in_grace) wake = std::min(wake, exit_at + cmd.drain_ms);
    if (!exited && step.pidfd() < 0) wake = std::min(wake, now + 10);  // no pidfd: poll waitid

    pollfd fds[2];
    nfds_t n = 0;
    if (!eof) fds[n++] = {step.out_fd(), POLLIN, 0};
    if (!exited && step.pidfd() >= 0) fds[n++] = {step.pidfd(), POLLIN, 0};
    int rc = ::poll(fds, n, static_cast<int>(std::max<int64_t>(0, wake - now)));
    if (rc > 0 && !eof && fds[0].revents != 0) eof = step.ReadAvailable(out);
    if (cmd.on_progress) cmd.on_progress();
  }

  step.KillLeftovers();
  if (!eof) step.ReadAvailable(out);  // what the leftovers wrote before they died
  r.exit_code = step.Reap();
  r.cpu_ms = step.cpu_ms();
  r.max_rss_kb = step.max_rss_kb();
  return r;
}

bool CanRunAs(int uid, int gid) {
  // The same set-up a step gets (proc::Spawn drops to uid/gid before exec, or fails).
  proc::SpawnSpec probe;
  probe.exe = "/bin/true";
  probe.uid = uid;
  probe.gid = gid;
  auto pid = proc::Spawn(probe);
  if (!pid.ok()) return false;
  int status = 0;
  while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace kod::runner
