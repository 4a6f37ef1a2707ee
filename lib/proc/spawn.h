// Starting child processes: Boost.Process with our own child set-up, and the Child that owns one.
//
// Every process Kod starts goes through Spawn: an absolute executable run directly (no shell
// unless the caller asks for /bin/sh), exactly the environment given, descriptors 0–2 chosen by
// the caller and every other inherited descriptor closed at exec, a new process group or session,
// default signal dispositions and an empty signal mask. Deadlines are the caller's: Child offers
// Terminate(grace) and a pidfd to poll; lib/proc/tree.h finds and kills what a child left behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "lib/core/fd.h"
#include "lib/core/status.h"

namespace kod::proc {

/// A child's complete environment, in order: NAME=value pairs (nothing comes from environ).
using Env = std::vector<std::pair<std::string, std::string>>;

/// How a child is separated from its parent, so that it and its descendants can be signalled at
/// once with kill(-pid): its own process group (it stays in the caller's session, so job control
/// and session-based cleanup of the caller still see it), or its own session (setsid: also no
/// controlling terminal; a process group of the same id comes with it).
enum class Leader { kProcessGroup, kSession };

/// What to start. Descriptors are borrowed: Spawn duplicates them onto the child's 0, 1, 2 and
/// never closes them in the caller.
struct SpawnSpec {
  std::string exe;                ///< absolute path, executed directly; argv[0] = exe
  std::vector<std::string> args;  ///< argv[1..]
  Env env;                        ///< the complete environment (names non-empty, no '=' or NUL)
  int stdin_fd = -1;              ///< becomes the child's fd 0; -1: /dev/null
  int stdout_fd = -1;             ///< becomes fd 1; -1: /dev/null
  int stderr_fd = -1;             ///< becomes fd 2; -1: /dev/null (may equal stdout_fd)
  std::string cwd;                ///< absolute directory to start in; "": the caller's
  Leader leader = Leader::kProcessGroup;
  /// PR_SET_CHILD_SUBREAPER in the child: orphans of its descendants reparent to it rather than
  /// escaping to init (or to our own subreaper), so they stay in its tree.
  bool subreaper = false;
  int uid = -1;  ///< >= 0: setuid before exec (needs root or CAP_SETUID)
  int gid = -1;  ///< >= 0: setgroups(0) + setgid before exec (needs root or CAP_SETGID)
};

/// Starts `spec` and returns the child's pid, which the caller must reap (waitpid) — prefer
/// Child/SpawnPiped, which do. In the child, before execve, in this order: dup2 of the three
/// descriptors onto 0–2 (close-on-exec cleared), chdir(cwd), setpgid(0,0) or setsid(),
/// the subreaper flag, ambient capabilities cleared, setgroups/setgid/setuid when asked,
/// every signal disposition reset to SIG_DFL and the signal mask emptied (execve keeps SIG_IGN
/// and the mask, which would make a SIGTERM deadline toothless or SIGPIPE silent), then every
/// descriptor above 2 marked close-on-exec (close_range; an fcntl loop on kernels before 5.11),
/// so e.g. the FastCGI listen socket and connection never reach git, hooks or steps.
///
/// Only async-signal-safe calls run in the child, so Spawn may be called from any thread.
/// Requirement: descriptors 0–2 of this process are open (else Boost's own error pipe could land
/// there and be clobbered by the dup2 onto it).
/// Errors: InvalidArgument for a relative exe, a bad env entry or a NUL in an argument;
/// Internal("Cannot start <exe>: <reason>") when /dev/null, fork, a set-up step or execve fails
/// (a child that was forked is reaped before returning).
Result<pid_t> Spawn(const SpawnSpec& spec);

/// A child started by SpawnPiped: it leads its own process group (or session), and we hold the
/// parent's ends of its stdin/stdout/stderr pipes (close-on-exec and non-blocking). Move-only;
/// single-threaded use.
///
/// Lifetime: the destructor of a child that was not reaped sends SIGKILL to its whole group and
/// reaps the leader (blocking), so no zombie and no process of the group outlives the object.
/// Completion comes from waitpid, never from EOF on a pipe. SIGCHLD must not be SIG_IGN in the
/// calling process (waitpid would fail with ECHILD).
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
  /// also the group id, cannot be reused while we may still signal the group.
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
  friend Result<Child> SpawnPiped(SpawnSpec spec);
  void CloseAll();
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
  UniqueFd in_, out_, err_, pidfd_;
};

/// Spawn(spec) with three new pipes as the child's stdin, stdout and stderr (spec's descriptors
/// are ignored). Errors: those of Spawn, and Internal when the pipes cannot be made.
Result<Child> SpawnPiped(SpawnSpec spec);

/// "exit N", "signal N" or "status N" for a wait status, for logs.
std::string DescribeWaitStatus(int status);

}  // namespace kod::proc
