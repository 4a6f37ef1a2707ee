// Test helpers: what this test process's children are doing, read through lib/proc.
#pragma once

#include <unistd.h>

#include <vector>

#include "lib/proc/tree.h"

namespace kod::testing {

/// Pids whose parent is this process (zombies included: they keep their parent until reaped).
inline std::vector<pid_t> ChildrenOfThisProcess() {
  std::vector<pid_t> kids;
  for (const proc::ProcStat& p : proc::ScanProcs())
    if (p.ppid == ::getpid()) kids.push_back(p.pid);
  return kids;
}

/// True if `pid` no longer runs (gone, or a zombie waiting for its parent to reap it).
inline bool Dead(pid_t pid) {
  auto p = proc::ReadStat(pid);
  return !p || p->state == 'Z' || p->state == 'X';
}

}  // namespace kod::testing
