// Tracking process trees: pidfds, /proc/<pid>/stat, finding a tree or session, signalling it safely.
//
// Linux only (proc(5), pidfd_open(2)). A pid alone may name a different process after the first
// one was reaped; (pid, start time) does not, and a pidfd pins one process for as long as it is
// open. Functions here never reap anything.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/core/fd.h"

namespace kod::proc {

/// The fields of /proc/<pid>/stat that Kod uses (proc(5) numbering in brackets).
struct ProcStat {
  pid_t pid = 0;
  char state = '?';     ///< [3] R, S, D, Z (zombie), T, ...
  pid_t ppid = 0;       ///< [4]
  pid_t pgrp = 0;       ///< [5]
  pid_t sid = 0;        ///< [6]
  uint64_t utime = 0;   ///< [14] user CPU, clock ticks (sysconf(_SC_CLK_TCK))
  uint64_t stime = 0;   ///< [15] system CPU, clock ticks
  uint64_t start = 0;   ///< [22] start time, clock ticks since boot: (pid, start) names a process
  uint64_t rss = 0;     ///< [24] resident set size, pages
};

/// Parses one /proc/<pid>/stat line (the command name may hold spaces and ')'). Exposed for tests.
std::optional<ProcStat> ParseStat(pid_t pid, const std::string& line);

/// Reads /proc/<pid>/stat; nullopt when the process is gone (or the file is unreadable).
std::optional<ProcStat> ReadStat(pid_t pid);

/// Every process visible in /proc now (those that vanish during the scan are left out).
std::vector<ProcStat> ScanProcs();

/// pidfd_open(pid): a descriptor that pins the process and polls readable once it has exited.
/// Invalid (errno set) when the process is gone (ESRCH) or the kernel has no pidfd (before 5.3).
UniqueFd PidfdOpen(pid_t pid);

/// Sends `sig` to the process named by `p` (pid and start time) and to nobody else: the pidfd
/// opened first pins the process, and the start time read after it proves the pid was not reused
/// since `p` was read. Without pidfd support, kill(2) after the same start-time check.
/// Returns false when the process is gone or is another one now.
bool SignalIfSame(const ProcStat& p, int sig);

/// Whether process `pid` holds the write end of the pipe with inode `pipe_inode` open (read from
/// /proc/<pid>/fd and fdinfo; the read end does not count). False when unreadable.
bool HoldsPipeWriteEnd(pid_t pid, ino_t pipe_inode);

/// Whether /proc/<pid>/environ holds the entry `name_value` ("NAME=value") exactly. Reads at most
/// 1 MiB; false when unreadable (another user's process, or gone).
bool EnvironHas(pid_t pid, const std::string& name_value);

/// The pids in `procs` that descend from `root` (root excluded), plus, when `with_sessions`,
/// every process whose session was started by one of them (what escaped its tree with setsid and
/// was reparented elsewhere). `procs` is one ScanProcs() snapshot.
std::set<pid_t> Descendants(const std::vector<ProcStat>& procs, pid_t root, bool with_sessions);

/// prctl(PR_SET_CHILD_SUBREAPER, 1) for this process (process-wide, permanent): orphans of its
/// descendants reparent to it instead of init, so they can still be found, killed and reaped.
/// False (errno set) on failure.
bool BecomeSubreaper();

}  // namespace kod::proc
