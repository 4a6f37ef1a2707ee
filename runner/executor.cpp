// Step executor: runs one `run` line of a workflow step in its own session, captures its output,
// enforces the deadline and kills every process the step leaves behind (decisions §7, §8).
#include "runner/executor.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "lib/core/clock.h"
#include "lib/core/log.h"

namespace bp = boost::process;

namespace kod::runner {
namespace {

constexpr int64_t kScanIntervalMs = 100;      // /proc scan while the step runs (see header)
constexpr int64_t kCleanupBudgetMs = 5000;    // give up on unkillable (D state) leftovers after this
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxReadPerWake = 1 << 20;  // then look at the clock again

// glibc 2.36's <sys/pidfd.h> has no extern "C" block (C++ cannot link it): use the syscalls.
int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// Owns a file descriptor (style §5).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Moves a new descriptor above 2 (if the runner runs with 0-2 closed, pipe2/open can return them,
// and dup2 onto the same number would neither move it nor clear close-on-exec in the child).
int AboveStdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  ::close(fd);
  return moved;
}

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

// ---- /proc ----------------------------------------------------------------------------------

struct Proc {
  pid_t pid = 0, ppid = 0, pgrp = 0, sid = 0;
  char state = '?';
  uint64_t start = 0;  // clock ticks since boot: (pid, start) names a process across pid reuse
};

std::optional<Proc> ReadStat(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  char buf[2048];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  // "pid (comm) state ppid pgrp session ... starttime(22) ...": comm may hold spaces and ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] != ' ') return std::nullopt;
  p += 2;
  Proc out;
  out.pid = pid;
  out.state = *p;
  unsigned long long field[20] = {};
  int k = 1;  // field[k] is stat field k + 3
  const char* q = p + 1;
  while (k < 20 && *q != '\0') {
    while (*q == ' ') ++q;
    char* end = nullptr;
    long long v = std::strtoll(q, &end, 10);
    if (end == q) return std::nullopt;
    field[k++] = static_cast<unsigned long long>(v);
    q = end;
  }
  if (k < 20) return std::nullopt;
  out.ppid = static_cast<pid_t>(field[1]);
  out.pgrp = static_cast<pid_t>(field[2]);
  out.sid = static_cast<pid_t>(field[3]);
  out.start = field[19];
  return out;
}

bool IsPidName(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; ++s)
    if (*s < '0' || *s > '9') return false;
  return true;
}

std::vector<Proc> ScanProcs() {
  std::vector<Proc> out;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc"), ::closedir);
  if (!dir) return out;
  while (const dirent* e = ::readdir(dir.get())) {
    if (!IsPidName(e->d_name)) continue;
    if (auto p = ReadStat(static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10)))) out.push_back(*p);
  }
  return out;
}

// Whether `pid` has the write end of the pipe with inode `ino` open. The read end does not count:
// every child the runner forks holds it between fork and exec (close-on-exec), briefly.
bool HoldsPipeWriteEnd(pid_t pid, ino_t ino) {
  char dir_path[64];
  std::snprintf(dir_path, sizeof dir_path, "/proc/%d/fd", static_cast<int>(pid));
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(dir_path), ::closedir);
  if (!dir) return false;
  char want[64];
  int want_len = std::snprintf(want, sizeof want, "pipe:[%llu]", static_cast<unsigned long long>(ino));
  while (const dirent* e = ::readdir(dir.get())) {
    if (!IsPidName(e->d_name)) continue;
    char target[64];
    std::string link_path = std::string(dir_path) + "/" + e->d_name;
    ssize_t n = ::readlink(link_path.c_str(), target, sizeof target);
    if (n != want_len || std::memcmp(target, want, static_cast<std::size_t>(n)) != 0) continue;
    std::string info_path = "/proc/" + std::to_string(pid) + "/fdinfo/" + e->d_name;
    UniqueFd info(::open(info_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!info.valid()) continue;
    char buf[512];
    ssize_t m = ::read(info.get(), buf, sizeof buf - 1);
    if (m <= 0) continue;
    buf[m] = '\0';
    const char* flags = std::strstr(buf, "flags:");
    if (flags == nullptr) continue;
    unsigned long f = std::strtoul(flags + 6, nullptr, 8);
    if ((f & O_ACCMODE) == O_WRONLY) return true;
  }
  return false;
}

// Signals the process named by (pid, start) and nobody else: the pidfd pins the process, and the
// start time read after opening it proves the pid was not reused since the scan.
void SignalProc(const Proc& p, int sig) {
  UniqueFd pidfd(PidfdOpen(p.pid));
  if (!pidfd.valid() && errno == ESRCH) return;
  auto now = ReadStat(p.pid);
  if (!now || now->start != p.start) return;
  if (pidfd.valid())
    PidfdSendSignal(pidfd.get(), sig);
  else
    ::kill(p.pid, sig);  // no pidfd (kernel < 5.3, seccomp): the identity check above must do
}

// ---- the child side ---------------------------------------------------------------------------

// Runs in the forked child before execve: async-signal-safe calls only.
struct ChildSetup {
  int stdin_fd;
  int out_fd;
  const char* cwd;
  int max_fd;  // fallback for kernels without CLOSE_RANGE_CLOEXEC (< 5.11)
  int uid = -1;
  int gid = -1;

  template <class Executor>
  void operator()(Executor& exec) const {
    auto fail = [&exec](const char* what) {
      exec.set_error(std::error_code(errno, std::system_category()), what);
      ::_exit(127);  // Boost reports the error but would go on to execve
    };
    if (::dup2(stdin_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) fail("dup2");
    if (::chdir(cwd) != 0) fail("chdir");
    if (::setsid() < 0) fail("setsid");
    // Orphans of the step's own descendants stay under the shell while it lives (visible to our
    // scans as its descendants) instead of reaching the runner, where they would be anonymous.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    // Drop to the step's own user: the runner's user can read every repository and the keys.
    // Ambient capabilities (systemd's AmbientCapabilities= lets the runner switch users) would
    // survive exec: clear them so the step gets none.
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (gid >= 0 && (::setgroups(0, nullptr) != 0 || ::setgid(static_cast<gid_t>(gid)) != 0)) fail("setgid");
    if (uid >= 0 && ::setuid(static_cast<uid_t>(uid)) != 0) fail("setuid");
    // execve resets handlers but keeps SIG_IGN dispositions and the signal mask, both of which
    // the runner may have set (a blocked SIGTERM would make the deadline toothless).
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Mark rather than close: Boost's exec-error pipe must stay usable until execve.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
      for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
};

// ---- one running step ---------------------------------------------------------------------------

// The shell of one step and everything attributed to it. The destructor kills and reaps whatever
// is left if RunShell did not get to (an exception from OutputCapture, say).
class Step {
 public:
  Step(pid_t sh, UniqueFd read_end)
      : sh_(sh), self_(::getpid()), runner_sid_(::getsid(0)), out_(std::move(read_end)) {
    struct stat st {};
    if (::fstat(out_.get(), &st) == 0) pipe_ino_ = st.st_ino;
    pidfd_.reset(PidfdOpen(sh_));
    if (auto p = ReadStat(sh_)) sh_start_ = p->start;
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
    for (const Proc& p : Attribute(ScanProcs(), /*adopt_orphans=*/false))
      if (p.state != 'Z') ++alive;
    return alive;
  }

  // Sends `sig` to every process of the step, the shell included.
  void SignalAll(int sig) {
    if (!lost_ && !reaped_) ::kill(-sh_, sig);  // the step's process group (the shell leads it)
    for (const Proc& p : Attribute(ScanProcs(), /*adopt_orphans=*/false))
      if (p.state != 'Z') SignalProc(p, sig);
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
        std::vector<Proc> mine = Attribute(ScanProcs(), /*adopt_orphans=*/true);
        std::unordered_set<pid_t> alive;
        for (const Proc& p : mine)
          if (p.state != 'Z') alive.insert(p.pid);
        for (const Proc& p : mine) {
          if (p.state != 'Z') {
            SignalProc(p, SIGKILL);
            ++killed;
            pending = true;
          } else if (p.ppid == self_) {
            // A zombie of the step that was reparented to us: ours to reap. (Nobody else reaps
            // it, and its (pid, start) was just read while it was our child, so not reused.)
            while (::waitpid(p.pid, nullptr, WNOHANG) < 0 && errno == EINTR) {
            }
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
      while (::waitpid(sh_, &status, 0) < 0 && errno == EINTR) {
      }
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
  std::vector<Proc> Attribute(const std::vector<Proc>& procs, bool adopt_orphans) {
    std::unordered_map<pid_t, std::vector<std::size_t>> children;
    for (std::size_t i = 0; i < procs.size(); ++i) children[procs[i].ppid].push_back(i);
    // Never the runner itself, nor anything in its session: a step cannot join it (setsid makes
    // a new session, setpgid stays within one), while other modules' children live there.
    auto eligible = [&](const Proc& p) { return p.pid != self_ && p.sid != runner_sid_; };
    const bool session_known = !lost_ && !reaped_;  // else the sid may name someone else now

    Registry& reg = Reg();
    std::lock_guard<std::mutex> lock(reg.mu);
    auto claimed_by_other = [&](const Proc& p) {
      auto it = reg.claims.find(p.pid);
      return it != reg.claims.end() && it->second.step != this && it->second.start == p.start;
    };

    std::vector<char> mark(procs.size(), 0);
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < procs.size(); ++i) {
      const Proc& p = procs[i];
      if (!eligible(p)) continue;
      bool ours = (session_known && (p.pid == sh_ || p.sid == sh_));
      if (!ours) {
        auto it = known_.find(p.pid);
        ours = it != known_.end() && it->second == p.start;
      }
      if (!ours && p.ppid == self_ && p.state != 'Z' && pipe_ino_ != 0)
        ours = HoldsPipeWriteEnd(p.pid, pipe_ino_);
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
    std::vector<Proc> out;
    for (std::size_t i = 0; i < procs.size(); ++i) {
      const Proc& p = procs[i];
      if (!mark[i] || p.pid == sh_) continue;
      out.push_back(p);
      still_known.emplace(p.pid, p.start);
      auto [it, fresh] = reg.claims.emplace(p.pid, Registry::Claim{p.start, this});  // ...and
      if (!fresh && it->second.start != p.start) it->second = {p.start, this};  // the new ones
    }
    known_ = std::move(still_known);  // the gone ones drop out: bounded, and no stale pids
    return out;
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
};

std::string Validate(const ShellCommand& cmd) {
  if (cmd.line.find('\0') != std::string::npos) return "command contains a NUL byte";
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
  UniqueFd devnull(AboveStdio(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
  if (!devnull.valid()) {
    *error = std::string("open /dev/null: ") + std::strerror(errno);
    return std::nullopt;
  }
  bp::environment env;  // starts empty: nothing from our environ
  for (const auto& [k, v] : cmd.env) env[k] = v;
  struct rlimit rl {};
  int max_fd = 1024;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    max_fd = static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 20));

  std::lock_guard<std::mutex> lock(Reg().spawn);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *error = std::string("pipe2: ") + std::strerror(errno);
    return std::nullopt;
  }
  UniqueFd read_end(AboveStdio(fds[0]));
  UniqueFd write_end(AboveStdio(fds[1]));
  if (!read_end.valid() || !write_end.valid()) {
    *error = std::string("fcntl: ") + std::strerror(errno);
    return std::nullopt;
  }

  ChildSetup setup{devnull.get(), write_end.get(), cmd.cwd.c_str(), max_fd, cmd.run_as_uid, cmd.run_as_gid};
  pid_t pid = -1;
  pid_t failed_pid = -1;
  std::string failure;
  try {
    bp::child c(bp::exe = "/bin/sh", bp::args = {"-c", cmd.line}, std::move(env),
                bp::extend::on_exec_setup = setup,
                bp::extend::on_error =
                    [&](auto& exec, const std::error_code& ec) {
                      failed_pid = exec.pid;
                      failure = ec.message();
                    });
    if (c.valid()) {
      pid = c.id();
      c.detach();  // we wait and kill ourselves (Boost's terminate() leaves zombies: platform §6)
      std::lock_guard<std::mutex> g(Reg().mu);
      Reg().shells.insert(pid);  // before the spawn lock goes: see Registry
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  write_end.reset();  // only the step's processes hold it now

  if (pid <= 0) {
    if (failed_pid > 0) {  // forked, then chdir/exec failed: the child exited, reap it
      while (::waitpid(failed_pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    *error = "cannot start /bin/sh: " + (failure.empty() ? std::string("unknown error") : failure);
    return std::nullopt;
  }
  int fl = ::fcntl(read_end.get(), F_GETFL);
  ::fcntl(read_end.get(), F_SETFL, fl | O_NONBLOCK);
  return Spawned{pid, std::move(read_end)};
}

}  // namespace

void BecomeSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
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
      // keeps its grace period (decisions §8) unless nothing of it is left.
      if (!in_grace && (eof || now >= exit_at + cmd.drain_ms)) break;
      if (in_grace && eof && alive_after_exit == 0) break;
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
  }

  step.KillLeftovers();
  if (!eof) step.ReadAvailable(out);  // what the leftovers wrote before they died
  r.exit_code = step.Reap();
  return r;
}

}  // namespace kod::runner

namespace kod::runner {

bool CanRunAs(int uid, int gid) {
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    bool ok = ::setgroups(0, nullptr) == 0 && ::setgid(static_cast<gid_t>(gid)) == 0 &&
              ::setuid(static_cast<uid_t>(uid)) == 0 && ::getuid() == static_cast<uid_t>(uid);
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace kod::runner
