// Spawning `git http-backend` in its own process group with an explicit environment and three pipes.
//
// Only the spawn lives here (Boost.Process with our own on_exec_setup); the loop that streams a
// request through the child is transport and lives in fcgi/git_bridge.cpp. Nothing here needs
// Boost.Filesystem: the executable is given as an absolute path (no bp::search_path), so kod_git
// links only libgit2 and kod_core.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "lib/core/status.h"

namespace kod::git {

/// Owns one file descriptor; closes it in the destructor. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  /// Closes the descriptor now (no-op if none).
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

/// A spawned child that leads its own process group (pgid == pid), with the parent's ends of
/// its stdin/stdout/stderr pipes (all O_CLOEXEC and O_NONBLOCK). Move-only, single-threaded.
///
/// Lifetime: the destructor of a child that was not reaped sends SIGKILL to the whole group and
/// reaps the leader (blocking), so no zombie or stray descendant in the group survives the object.
/// Completion comes from waitpid, never from EOF on a pipe. SIGCHLD must not be SIG_IGN in the
/// calling process (waitpid would then fail with ECHILD).
class Child {
 public:
  Child() = default;
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  UniqueFd& in() { return in_; }    ///< write end of the child's stdin
  UniqueFd& out() { return out_; }  ///< read end of the child's stdout
  UniqueFd& err() { return err_; }  ///< read end of the child's stderr
  /// A pidfd that polls readable once the leader has exited (not reaped); -1 when the kernel
  /// has no pidfd_open (then poll with a timeout and ask Exited()).
  int exit_fd() const { return pidfd_.get(); }

  /// True once the leader has exited. Does not reap it (waitid WNOWAIT), so its pid, which is
  /// also the pgid, cannot be reused while we may still signal the group.
  bool Exited() const;
  /// Sends `sig` to every process of the group; no-op once reaped.
  void SignalGroup(int sig) const;
  /// Closes our pipe ends and waits (blocking) for the leader; returns its wait status
  /// (as from waitpid), or the stored status if already reaped.
  int Reap();
  /// Ends the whole group: closes our pipe ends, SIGTERM to the group, up to `grace` for the
  /// leader to exit, then SIGKILL to the group (stray descendants included) and reaps the leader.
  /// Returns the leader's wait status.
  int Terminate(std::chrono::milliseconds grace);
  bool reaped() const { return reaped_; }

 private:
  friend Result<Child> SpawnInProcessGroup(const std::string&, const std::vector<std::string>&,
                                           const std::vector<std::pair<std::string, std::string>>&);
  void CloseAll();
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
  UniqueFd in_, out_, err_, pidfd_;
};

/// Spawns `exe` (an absolute path, executed directly, argv[0] = exe) with `args` and exactly the
/// environment `env` (nothing is copied from this process's environ). The child:
/// - gets new pipes as fds 0, 1 and 2, and every other inherited descriptor is marked
///   close-on-exec (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC); fcntl loop on old kernels), so the
///   FastCGI listen socket and connection never reach git or its hooks;
/// - becomes leader of a new process group (setpgid(0, 0)), so the group can be killed at once;
/// - starts with all signal dispositions at SIG_DFL and an empty signal mask.
/// Env names must be non-empty without '=' or NUL, values without NUL.
/// Errors: InvalidArgument for a bad env entry; Internal("Cannot start <exe>: <reason>") when the
/// pipes, fork or execve fail (the failed child is reaped before returning).
Result<Child> SpawnInProcessGroup(const std::string& exe, const std::vector<std::string>& args,
                                  const std::vector<std::pair<std::string, std::string>>& env);

/// SpawnInProcessGroup(git_exe, {"http-backend"}, env): the CGI program of git's smart HTTP
/// protocol (git-http-backend(1)); `env` is the complete CGI environment.
Result<Child> SpawnHttpBackend(const std::string& git_exe,
                               const std::vector<std::pair<std::string, std::string>>& env);

}  // namespace kod::git
