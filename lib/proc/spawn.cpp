#include "lib/proc/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "lib/core/log.h"
#include "lib/proc/tree.h"

namespace kod::proc {
namespace bp = boost::process;
namespace {

// Boost.Process extension run in the forked child just before execve. Only async-signal-safe
// calls: the parent may have other threads. Values are computed in the parent.
struct ChildSetup : bp::extend::handler {
  int fd[3];
  const char* cwd;  // nullptr: stay
  bool session;
  bool subreaper;
  int uid, gid;
  int max_fd;  // bound for the close-on-exec loop on kernels without CLOSE_RANGE_CLOEXEC

  template <class Executor>
  void on_exec_setup(Executor& exec) const {
    auto fail = [&exec](const char* what) {
      exec.set_error(std::error_code(errno, std::system_category()), what);
      ::_exit(127);  // Boost reported the error to the parent but would go on to execve
    };
    for (int i = 0; i < 3; ++i) {
      if (fd[i] == i) {  // dup2 onto itself keeps close-on-exec: clear it instead
        if (::fcntl(i, F_SETFD, 0) != 0) fail("fcntl");
      } else if (::dup2(fd[i], i) < 0) {
        fail("dup2");
      }
    }
    if (cwd != nullptr && ::chdir(cwd) != 0) fail("chdir");
    if (session ? ::setsid() < 0 : ::setpgid(0, 0) != 0) fail(session ? "setsid" : "setpgid");
    if (subreaper) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    // Ambient capabilities (systemd's AmbientCapabilities= lets the runner switch users) would
    // survive exec: the child gets none.
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (gid >= 0 && (::setgroups(0, nullptr) != 0 || ::setgid(static_cast<gid_t>(gid)) != 0)) fail("setgid");
    if (uid >= 0 && ::setuid(static_cast<uid_t>(uid)) != 0) fail("setuid");
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Mark rather than close: Boost reports execve failures through a close-on-exec pipe
    // (fd >= 3) that must stay usable until the execve.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
      for (int f = 3; f < max_fd; ++f) ::fcntl(f, F_SETFD, FD_CLOEXEC);
  }

  // Runs in the parent when the spawn failed. A child that was forked has reported its error and
  // called _exit: reap it so it does not stay a zombie (Boost forgets its pid).
  template <class Executor>
  void on_error(Executor& exec, const std::error_code&) const {
    if (exec.pid > 0) {
      while (::waitpid(exec.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
};

int FdLimit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20))
    return 1 << 20;
  return static_cast<int>(rl.rlim_cur);
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

Status Validate(const SpawnSpec& spec) {
  if (spec.exe.empty() || spec.exe[0] != '/' || HasNul(spec.exe))
    return InvalidArgument("Executable must be an absolute path: " + spec.exe);
  for (const auto& [name, value] : spec.env) {
    if (name.empty() || name.find_first_of(std::string("=\0", 2)) != std::string::npos || HasNul(value))
      return InvalidArgument("Invalid environment entry for " + spec.exe + ": " + name);
  }
  for (const std::string& a : spec.args)
    if (HasNul(a)) return InvalidArgument("Argument with a NUL byte for " + spec.exe);
  if (HasNul(spec.cwd) || (!spec.cwd.empty() && spec.cwd[0] != '/'))
    return InvalidArgument("Working directory must be an absolute path: " + spec.cwd);
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0)
      return Internal("Cannot start " + spec.exe + ": fd " + std::to_string(fd) + " is closed");
  }
  return Status::Ok();
}

}  // namespace

Result<pid_t> Spawn(const SpawnSpec& spec) {
  if (Status s = Validate(spec); !s.ok()) return s;
  UniqueFd devnull;
  if (spec.stdin_fd < 0 || spec.stdout_fd < 0 || spec.stderr_fd < 0) {
    devnull.Reset(MoveAboveStdio(::open("/dev/null", O_RDWR | O_CLOEXEC)));
    if (!devnull) return Internal("Cannot start " + spec.exe + ": /dev/null: " + std::strerror(errno));
  }
  auto pick = [&](int fd) { return fd >= 0 ? fd : devnull.get(); };
  bp::environment env;  // empty: nothing from our own environ
  for (const auto& [name, value] : spec.env) env[name] = value;
  ChildSetup setup;
  setup.fd[0] = pick(spec.stdin_fd);
  setup.fd[1] = pick(spec.stdout_fd);
  setup.fd[2] = pick(spec.stderr_fd);
  setup.cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
  setup.session = spec.leader == Leader::kSession;
  setup.subreaper = spec.subreaper;
  setup.uid = spec.uid;
  setup.gid = spec.gid;
  setup.max_fd = FdLimit();
  try {
    std::error_code ec;  // an error handler: Boost then calls on_error instead of throwing
    bp::child c(bp::exe = spec.exe, bp::args = spec.args, env, setup, ec);
    if (ec || !c.valid()) return Internal("Cannot start " + spec.exe + ": " + ec.message());
    pid_t pid = c.id();
    c.detach();  // the caller reaps; ~child would SIGKILL it (Boost's terminate leaves zombies)
    return pid;
  } catch (const std::exception& e) {
    return Internal("Cannot start " + spec.exe + ": " + e.what());
  }
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      reaped_(o.reaped_),
      wait_status_(o.wait_status_),
      in_(std::move(o.in_)),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)),
      pidfd_(std::move(o.pidfd_)) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && !reaped_) {
      SignalGroup(SIGKILL);
      Reap();
    }
    pid_ = std::exchange(o.pid_, -1);
    reaped_ = o.reaped_;
    wait_status_ = o.wait_status_;
    in_ = std::move(o.in_);
    out_ = std::move(o.out_);
    err_ = std::move(o.err_);
    pidfd_ = std::move(o.pidfd_);
  }
  return *this;
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    SignalGroup(SIGKILL);
    Reap();
  }
}

void Child::CloseAll() {
  in_.Reset();
  out_.Reset();
  err_.Reset();
}

bool Child::Exited() const {
  if (pid_ <= 0 || reaped_) return true;
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno != EINTR;  // ECHILD: not ours to wait for any more
  return info.si_pid != 0;
}

void Child::SignalGroup(int sig) const {
  // While the leader is not reaped its pid cannot be reused, so -pid_ is still our group.
  if (pid_ > 0 && !reaped_) ::kill(-pid_, sig);
}

int Child::Reap() {
  CloseAll();
  if (pid_ <= 0 || reaped_) return wait_status_;
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  if (r < 0) {
    log::Error("waitpid(" + std::to_string(pid_) + ") failed: " + std::strerror(errno) + " (is SIGCHLD ignored?)");
    status = 0;
  }
  reaped_ = true;
  wait_status_ = status;
  pidfd_.Reset();
  return status;
}

int Child::Terminate(std::chrono::milliseconds grace) {
  CloseAll();
  if (pid_ <= 0 || reaped_) return wait_status_;
  SignalGroup(SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!Exited()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (pidfd_) {
      struct pollfd p = {pidfd_.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    } else {
      ::usleep(10 * 1000);
    }
  }
  // Also when the leader went quietly: descendants that ignored SIGTERM or were not yet
  // started when it arrived must not outlive it.
  SignalGroup(SIGKILL);
  return Reap();
}

Result<Child> SpawnPiped(SpawnSpec spec) {
  auto in = MakePipe(), out = MakePipe(), err = MakePipe();
  for (auto* p : {&in, &out, &err})
    if (!p->ok()) return Internal("Cannot start " + spec.exe + ": " + p->status().message);
  spec.stdin_fd = in->read.get();
  spec.stdout_fd = out->write.get();
  spec.stderr_fd = err->write.get();
  auto pid = Spawn(spec);
  if (!pid) return pid.status();
  Child child;
  child.pid_ = *pid;
  child.in_ = std::move(in->write);
  child.out_ = std::move(out->read);
  child.err_ = std::move(err->read);
  // The child's ends close here (in, out, err go out of scope): only the child holds them now.
  if (!SetNonBlocking(child.in_.get()) || !SetNonBlocking(child.out_.get()) || !SetNonBlocking(child.err_.get()))
    return Internal("Cannot start " + spec.exe + ": fcntl: " + std::strerror(errno));  // ~Child kills it
  child.pidfd_ = PidfdOpen(child.pid_);  // invalid on kernels before 5.3: Exited() then polls
  return child;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace kod::proc
