// Step executor: runs one `run` line of a workflow step in its own session, captures its output,
// enforces the deadline and kills every process the step leaves behind (docs/workflows.md).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>

#include "runner/output.h"

namespace kod::runner {

/// One shell line to run. The runner builds it; RunShell never adds to it.
struct ShellCommand {
  std::string script;  // the shell's input as-is (no NUL bytes): read by `/bin/sh -s` from its
                       // standard input, never put in argv (/proc/<pid>/cmdline is world-readable)
  std::string cwd;                         // absolute; must exist
  std::map<std::string, std::string> env;  // the COMPLETE environment: nothing from the runner's
                                           // own environ. Note: dash itself exports PWD.
  int64_t deadline_ms = std::numeric_limits<int64_t>::max();  // kod::MonotonicMs() value at which
                                                              // the command times out
  int64_t kill_grace_ms = 5000;  // SIGTERM → SIGKILL delay after the deadline (docs/workflows.md: 5 s)
  int64_t drain_ms = 100;        // after the shell exits, how long to keep reading while leftover
                                 // processes still hold the output pipe, before killing them
  int run_as_uid = -1;           // ≥ 0: the shell drops to this uid and gid (supplementary
  int run_as_gid = -1;           // groups cleared) before exec; needs root or CAP_SETUID/SETGID
  /// Called on the calling thread after each read of output and at least every 100 ms while
  /// the command runs (live output is flushed from here). May be empty.
  std::function<void()> on_progress;
  /// Asked as often as on_progress; true once: the command is stopped as at its deadline
  /// (SIGTERM to every process of the step, SIGKILL kill_grace_ms later). May be empty.
  std::function<bool()> cancelled;
};

/// True if this process can start commands as `uid`/`gid` (checked by trying it in a child).
bool CanRunAs(int uid, int gid);

struct CommandResult {
  int exit_code = -1;        // the shell's exit status; 128+N if it died of signal N; -1 if not run
  bool timed_out = false;    // the deadline passed before the shell exited (it was then killed)
  bool cancelled = false;    // cmd.cancelled() said so before the shell exited (it was killed)
  std::string spawn_error;   // non-empty when the command could not be started (exit_code -1)
  int64_t cpu_ms = 0;        // user + system CPU of the shell and every process of the step
                             // that was reaped (what the shell waited for, and the leftovers)
  int64_t max_rss_kb = 0;    // the largest resident set among them, KiB
};

/// Runs `/bin/sh -s` with cmd.script as its standard input (an in-memory file: the shell parses
/// a whole line before running it, so a one-line script is consumed before any of its commands
/// reads stdin, which then gives EOF as /dev/null did) and blocks until it is over, appending its output to `out`
/// (stdout and stderr share one pipe, so they interleave as written; `out.Finish()` is left to the
/// caller).
///
/// The shell starts in a new session (setsid) in cmd.cwd with exactly cmd.env, every inherited descriptor above 2 closed, default signal dispositions and an empty
/// signal mask. It is made a child subreaper itself, so descendants orphaned while it runs stay in
/// its tree. Completion is the shell's exit seen by waitid(), not EOF: a backgrounded job that
/// keeps the pipe open gets `drain_ms` more to flush and is then killed.
///
/// Deadline: at cmd.deadline_ms every process of the step gets SIGTERM, and SIGKILL
/// kill_grace_ms later (docs/workflows.md). If the shell dies of the SIGTERM first, the rest of the
/// step keeps the remaining grace period (RunShell returns early once all of it has exited).
/// If the deadline has already passed, nothing runs (timed_out, exit_code -1).
///
/// Leftovers: when the shell has exited (normally or not), every process attributed to the step
/// is SIGKILLed and reaped before RunShell returns. A process is attributed to the step when it
///  - is in the step's session (backgrounded jobs, process groups made by the step);
///  - descends from the shell or from another attributed process (checked at kill time, and by a
///    /proc scan every 100 ms while the step runs; remembered by pid and start time, so it stays
///    attributed after leaving the session or losing its parent);
///  - was reparented to this process (see BecomeSubreaper) and holds the write end of the step's
///    output pipe (`setsid cmd &` that kept its stdout);
///  - or, once the shell has exited, is a child of this process outside this process's session,
///    started after the shell, and neither the shell of another RunShell call nor attributed to
///    another running step. Sound because the shell is itself a subreaper: while a step's shell
///    lives, its orphans reparent to the shell, so orphans reaching this process come from steps
///    whose shell has exited, whose leftovers are due to die anyway. This catches daemons that
///    left the session and closed their output just before the shell ended, and reaps zombies
///    of `setsid short-cmd &` that would otherwise pile up in the runner.
/// A step whose shell is still running never loses a process to another step's cleanup, and
/// nothing in the runner's own session is ever touched.
/// Consequence for the rest of kod-runner: a child it starts itself must stay in the runner's
/// session (setpgid is fine, setsid is not), or a concurrent step's cleanup may take it for an
/// orphan.
///
/// Errors: an invalid command (relative cwd, NUL in script, bad env name), a SIGCHLD disposition of
/// SIG_IGN, or a failed spawn (missing cwd, exec failure) set spawn_error; nothing is left running.
///
/// Thread-safety: safe to call from several threads at once (each with its own `out`).
/// Requirements on the rest of the process: SIGCHLD must not be SIG_IGN, nothing may reap
/// children it did not start (no wait(), no waitpid(-1): RunShell reaps the shell and the
/// orphans it attributes to the step), and children started elsewhere stay in our session.
CommandResult RunShell(const ShellCommand& cmd, OutputCapture& out);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphans of steps reparent to this process, where RunShell
/// can find, kill and reap them. Call once at startup (process-wide, permanent). Logs on failure.
void BecomeSubreaper();

}  // namespace kod::runner
