#include "lib/git/http_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "lib/core/log.h"

namespace kod::git {
namespace bp = boost::process;

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) Reset(std::exchange(o.fd_, -1));
  return *this;
}

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {

// Boost.Process extension run in the forked child just before execve (after the pipe
// initializers, which come earlier in the argument list, dup2'ed the pipes onto 0/1/2).
// Only async-signal-safe calls: the parent may have other threads.
struct GroupLeaderSetup : bp::extend::handler {
  int max_fd;  // bound for the fallback loop, computed in the parent

  template <class Executor>
  void on_exec_setup(Executor&) const {
    ::setpgid(0, 0);
    // CLOEXEC rather than close: Boost.Process reports execve failures through a CLOEXEC pipe
    // (fd >= 3) that must stay open until the execve; marking keeps it working.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {  // kernels before 5.11
      for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    // Handlers are reset by execve anyway, but ignored signals (e.g. a SIG_IGN SIGPIPE) and the
    // signal mask would be inherited by git and its hooks.
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
  }

  // Runs in the parent when the spawn failed. After a failed execve the forked child has
  // already reported the error and calls _exit: reap it so it does not stay a zombie (Boost
  // forgets its pid).
  template <class Executor>
  void on_error(Executor& e, const std::error_code&) const {
    if (e.pid > 0) {
      while (::waitpid(e.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
};

int FdLimit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20)) {
    return 1 << 20;
  }
  return static_cast<int>(rl.rlim_cur);
}

bool SetFlags(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  return fl >= 0 && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

}  // namespace

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
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno != EINTR;  // ECHILD: not ours to wait for any more
  }
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
    log::Error("waitpid(" + std::to_string(pid_) + ") failed: " + std::strerror(errno) +
               " (is SIGCHLD ignored?)");
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
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (pidfd_) {
      struct pollfd p = {pidfd_.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    } else {
      ::usleep(10 * 1000);
    }
  }
  // Also when the leader went quietly: descendants that ignored SIGTERM or were not yet
  // started when it arrived must not outlive the request.
  SignalGroup(SIGKILL);
  return Reap();
}

Result<Child> SpawnInProcessGroup(const std::string& exe, const std::vector<std::string>& args,
                                  const std::vector<std::pair<std::string, std::string>>& env) {
  if (exe.empty() || exe[0] != '/') return InvalidArgument("Executable must be an absolute path: " + exe);
  bp::environment child_env;  // empty: nothing from our own environ
  for (const auto& [name, value] : env) {
    if (name.empty() || name.find_first_of(std::string("=\0", 2)) != std::string::npos ||
        value.find('\0') != std::string::npos) {
      return InvalidArgument("Invalid environment entry for " + exe + ": " + name);
    }
    child_env[name] = value;
  }
  // With fd 0, 1 or 2 closed a new pipe could land there and be clobbered by the dup2 onto it.
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0)
      return Internal("Cannot start " + exe + ": fd " + std::to_string(fd) + " is closed");
  }

  Child child;
  try {
    bp::pipe in_pipe, out_pipe, err_pipe;
    std::error_code ec;  // an error handler: Boost then calls on_error instead of throwing
    GroupLeaderSetup setup;
    setup.max_fd = FdLimit();
    bp::child c(bp::exe = exe, bp::args = args, child_env, bp::std_in<in_pipe, bp::std_out> out_pipe,
                bp::std_err > err_pipe, setup, ec);
    if (ec) return Internal("Cannot start " + exe + ": " + ec.message());
    child.pid_ = c.id();
    c.detach();  // we wait ourselves; ~child must not terminate it

    // Take the parent's ends out of the bp::pipe objects (Boost made them without CLOEXEC).
    child.in_.Reset(in_pipe.native_sink());
    in_pipe.assign_sink(-1);
    child.out_.Reset(out_pipe.native_source());
    out_pipe.assign_source(-1);
    child.err_.Reset(err_pipe.native_source());
    err_pipe.assign_source(-1);
  } catch (const std::exception& e) {  // pipe creation throws process_error
    return Internal("Cannot start " + exe + ": " + e.what());
  }
  if (!SetFlags(child.in_.get()) || !SetFlags(child.out_.get()) || !SetFlags(child.err_.get())) {
    return Internal("Cannot start " + exe + ": fcntl: " + std::strerror(errno));  // ~Child kills it
  }
  // Raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C". -1 on kernels before 5.3: fine.
  child.pidfd_.Reset(static_cast<int>(::syscall(SYS_pidfd_open, child.pid_, 0)));
  return child;
}

Result<Child> SpawnHttpBackend(const std::string& git_exe,
                               const std::vector<std::pair<std::string, std::string>>& env) {
  return SpawnInProcessGroup(git_exe, {"http-backend"}, env);
}

}  // namespace kod::git
