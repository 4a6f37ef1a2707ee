#include "lib/proc/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

namespace kod::proc {
namespace {

using Dir = std::unique_ptr<DIR, int (*)(DIR*)>;

bool IsPidName(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; ++s)
    if (*s < '0' || *s > '9') return false;
  return true;
}

// The start of a small /proc file (at most `max` bytes); "" when it cannot be read.
std::string ReadSmall(const char* path, size_t max) {
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  std::string out(max, '\0');
  size_t got = 0;
  while (got < max) {
    ssize_t n = ::read(fd.get(), out.data() + got, max - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

// glibc 2.36's <sys/pidfd.h> has no extern "C" block (C++ cannot link it): use the syscall.
int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace

std::optional<ProcStat> ParseStat(pid_t pid, const std::string& line) {
  // "pid (comm) state ppid pgrp session ... utime(14) stime(15) ... starttime(22) vsize rss(24)".
  size_t close = line.rfind(')');
  if (close == std::string::npos || close + 3 > line.size() || line[close + 1] != ' ') return std::nullopt;
  ProcStat out;
  out.pid = pid;
  out.state = line[close + 2];
  unsigned long long field[25] = {};  // field[k] is proc(5) field k
  const char* q = line.c_str() + close + 3;
  int k = 4;
  while (k <= 24 && *q != '\0') {
    while (*q == ' ') ++q;
    char* end = nullptr;
    long long v = std::strtoll(q, &end, 10);
    if (end == q) return std::nullopt;
    field[k++] = static_cast<unsigned long long>(v);
    q = end;
  }
  if (k <= 24) return std::nullopt;
  out.ppid = static_cast<pid_t>(field[4]);
  out.pgrp = static_cast<pid_t>(field[5]);
  out.sid = static_cast<pid_t>(field[6]);
  out.utime = field[14];
  out.stime = field[15];
  out.start = field[22];
  out.rss = field[24];
  return out;
}

std::optional<ProcStat> ReadStat(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  std::string line = ReadSmall(path, 2048);
  if (line.empty()) return std::nullopt;
  return ParseStat(pid, line);
}

std::vector<ProcStat> ScanProcs() {
  std::vector<ProcStat> out;
  Dir dir(::opendir("/proc"), ::closedir);
  if (!dir) return out;
  while (const dirent* e = ::readdir(dir.get())) {
    if (!IsPidName(e->d_name)) continue;
    if (auto p = ReadStat(static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10)))) out.push_back(*p);
  }
  return out;
}

UniqueFd PidfdOpen(pid_t pid) { return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); }

bool SignalIfSame(const ProcStat& p, int sig) {
  UniqueFd pidfd = PidfdOpen(p.pid);
  if (!pidfd && errno == ESRCH) return false;
  auto now = ReadStat(p.pid);
  if (!now || now->start != p.start) return false;
  if (pidfd) return PidfdSendSignal(pidfd.get(), sig) == 0;
  return ::kill(p.pid, sig) == 0;  // no pidfd (kernel < 5.3, seccomp): the check above must do
}

bool HoldsPipeWriteEnd(pid_t pid, ino_t pipe_inode) {
  char dir_path[64];
  std::snprintf(dir_path, sizeof dir_path, "/proc/%d/fd", static_cast<int>(pid));
  Dir dir(::opendir(dir_path), ::closedir);
  if (!dir) return false;
  char want[64];
  int want_len = std::snprintf(want, sizeof want, "pipe:[%llu]", static_cast<unsigned long long>(pipe_inode));
  while (const dirent* e = ::readdir(dir.get())) {
    if (!IsPidName(e->d_name)) continue;
    char target[64];
    std::string link_path = std::string(dir_path) + "/" + e->d_name;
    ssize_t n = ::readlink(link_path.c_str(), target, sizeof target);
    if (n != want_len || std::memcmp(target, want, static_cast<size_t>(n)) != 0) continue;
    std::string info_path = "/proc/" + std::to_string(pid) + "/fdinfo/" + e->d_name;
    std::string info = ReadSmall(info_path.c_str(), 511);
    size_t flags = info.find("flags:");
    if (flags == std::string::npos) continue;
    unsigned long f = std::strtoul(info.c_str() + flags + 6, nullptr, 8);
    if ((f & O_ACCMODE) == O_WRONLY) return true;
  }
  return false;
}

bool EnvironHas(pid_t pid, const std::string& name_value) {
  std::string path = "/proc/" + std::to_string(pid) + "/environ";
  std::string env = ReadSmall(path.c_str(), 1u << 20);
  for (size_t pos = 0; pos < env.size();) {
    size_t end = env.find('\0', pos);
    if (end == std::string::npos) end = env.size();
    if (env.compare(pos, end - pos, name_value) == 0) return true;
    pos = end + 1;
  }
  return false;
}

std::set<pid_t> Descendants(const std::vector<ProcStat>& procs, pid_t root, bool with_sessions) {
  std::multimap<pid_t, pid_t> children;  // ppid → pid
  for (const ProcStat& p : procs) children.emplace(p.ppid, p.pid);
  std::set<pid_t> found;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t parent = todo.back();
    todo.pop_back();
    auto [b, e] = children.equal_range(parent);
    for (auto it = b; it != e; ++it)
      if (it->second != root && found.insert(it->second).second) todo.push_back(it->second);
  }
  if (with_sessions) {
    std::set<pid_t> leaders = found;
    for (const ProcStat& p : procs)
      if (p.pid != root && leaders.count(p.sid) != 0) found.insert(p.pid);
  }
  return found;
}

bool BecomeSubreaper() { return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0; }

}  // namespace kod::proc
