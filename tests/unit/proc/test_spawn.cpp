// Unit tests for lib/proc/spawn.h: process group or session, exact environment, no inherited
// fds, default signals, reaping on every path. Uses /bin/sh as the child.
#include <cppunit/extensions/HelperMacros.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lib/proc/spawn.h"
#include "tests/unit/children.h"

using kod::Code;
using namespace kod::proc;

using kod::testing::ChildrenOfThisProcess;
using kod::testing::Dead;

namespace {

// Reads `fd` (non-blocking) until EOF, waiting with poll.
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      return out;
    } else if (errno == EAGAIN || errno == EINTR) {
      struct pollfd p = {fd, POLLIN, 0};
      ::poll(&p, 1, 5000);
    } else {
      return out;
    }
  }
}

// Reads until the first '\n' (the line without it).
std::string ReadLine(int fd) {
  std::string out;
  char c;
  for (;;) {
    ssize_t n = ::read(fd, &c, 1);
    if (n == 1) {
      if (c == '\n') return out;
      out += c;
    } else if (n == 0) {
      return out;
    } else {
      struct pollfd p = {fd, POLLIN, 0};
      ::poll(&p, 1, 5000);
    }
  }
}


Child SpawnSh(const std::string& script,
              const std::vector<std::pair<std::string, std::string>>& env = {{"PATH", "/usr/bin:/bin"}}) {
  SpawnSpec spec;
  spec.exe = "/bin/sh";
  spec.args = {"-c", script};
  spec.env = env;
  auto r = SpawnPiped(spec);
  if (!r) throw std::runtime_error(r.status().message);
  return std::move(*r);
}

}  // namespace

class SpawnTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SpawnTest);
  CPPUNIT_TEST(RunsWithExactlyTheGivenEnvironment);
  CPPUNIT_TEST(PipesCarryStdinStdoutStderr);
  CPPUNIT_TEST(ChildLeadsItsOwnProcessGroup);
  CPPUNIT_TEST(ChildInheritsNoDescriptorAboveTwo);
  CPPUNIT_TEST(ChildStartsWithDefaultSignals);
  CPPUNIT_TEST(ParentEndsAreCloexecAndNonBlocking);
  CPPUNIT_TEST(ExecFailureIsInternalAndLeavesNoZombie);
  CPPUNIT_TEST(RejectsRelativeExeAndBadEnv);
  CPPUNIT_TEST(MissingCwdIsInternalAndLeavesNoZombie);
  CPPUNIT_TEST(SessionLeaderInItsDirectoryWithDevNull);
  CPPUNIT_TEST(TerminateKillsTheWholeGroup);
  CPPUNIT_TEST(DestructorKillsAndReaps);
  CPPUNIT_TEST(ExitFdBecomesReadableOnExit);
  CPPUNIT_TEST_SUITE_END();

 public:
  void RunsWithExactlyTheGivenEnvironment() {
    ::setenv("KOD_TEST_LEAK_MARKER", "leaked", 1);
    Child c = SpawnSh("env", {{"A", "1"}, {"B", "x=y z"}, {"EMPTY", ""}});
    std::string out = ReadAll(c.out().get());
    ::unsetenv("KOD_TEST_LEAK_MARKER");
    CPPUNIT_ASSERT(WIFEXITED(c.Reap()));
    std::istringstream lines(out);
    std::vector<std::string> vars;
    for (std::string l; std::getline(lines, l);) {
      if (l.rfind("PWD=", 0) != 0) vars.push_back(l);  // dash exports its own PWD
    }
    std::sort(vars.begin(), vars.end());
    CPPUNIT_ASSERT_EQUAL(std::string("A=1|B=x=y z|EMPTY="),
                         vars.size() == 3 ? vars[0] + "|" + vars[1] + "|" + vars[2] : out);
  }

  void PipesCarryStdinStdoutStderr() {
    Child c = SpawnSh("read line; echo \"got:$line\"; echo oops >&2; exit 3");
    const char msg[] = "hello\n";
    CPPUNIT_ASSERT_EQUAL(ssize_t{6}, ::write(c.in().get(), msg, 6));
    c.in().Reset();
    CPPUNIT_ASSERT_EQUAL(std::string("got:hello\n"), ReadAll(c.out().get()));
    CPPUNIT_ASSERT_EQUAL(std::string("oops\n"), ReadAll(c.err().get()));
    int st = c.Reap();
    CPPUNIT_ASSERT(WIFEXITED(st));
    CPPUNIT_ASSERT_EQUAL(3, WEXITSTATUS(st));
    CPPUNIT_ASSERT(c.reaped());
    CPPUNIT_ASSERT_EQUAL(3, WEXITSTATUS(c.Reap()));  // idempotent
  }

  void ChildLeadsItsOwnProcessGroup() {
    Child c = SpawnSh("read -r pid comm state ppid pgrp rest < /proc/$$/stat; echo \"$$ $pgrp\"");
    std::string out = ReadAll(c.out().get());
    c.Reap();
    std::string expect = std::to_string(c.pid()) + " " + std::to_string(c.pid()) + "\n";
    CPPUNIT_ASSERT_EQUAL(expect, out);
    CPPUNIT_ASSERT(::getpgrp() != c.pid());
  }

  void ChildInheritsNoDescriptorAboveTwo() {
    // Like the FastCGI listen socket and connection: open without O_CLOEXEC.
    int a = ::open("/dev/null", O_RDONLY);
    int b = ::dup2(a, 77);
    CPPUNIT_ASSERT(a >= 3 && b == 77);
    // Every descriptor above 2 that this process has open must be absent in the child. The
    // builtin `[` opens nothing, so it sees exactly the shell's inherited fds.
    std::string fds;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      int fd = std::stoi(e.path().filename().string());
      if (fd > 2) fds += " " + std::to_string(fd);
    }
    CPPUNIT_ASSERT(fds.find(" 77") != std::string::npos);
    Child c = SpawnSh("for f in" + fds + "; do [ -e /proc/$$/fd/$f ] && printf '%s ' $f; done; echo end");
    std::string out = ReadAll(c.out().get());
    c.Reap();
    ::close(a);
    ::close(b);
    CPPUNIT_ASSERT_EQUAL(std::string("end\n"), out);
  }

  void ChildStartsWithDefaultSignals() {
    struct sigaction ign = {}, old_pipe = {}, old_term = {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old_pipe);
    ::sigaction(SIGTERM, &ign, &old_term);
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    ::sigprocmask(SIG_BLOCK, &block, &old_mask);
    Child c = SpawnSh("grep -E '^Sig(Ign|Blk)' /proc/$$/status | tr '\\t\\n' '  '");
    ::sigaction(SIGPIPE, &old_pipe, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    std::string out = ReadAll(c.out().get());
    c.Reap();
    CPPUNIT_ASSERT_EQUAL(std::string("SigBlk: 0000000000000000 SigIgn: 0000000000000000 "), out);
  }

  void ParentEndsAreCloexecAndNonBlocking() {
    Child c = SpawnSh("sleep 0");
    for (int fd : {c.in().get(), c.out().get(), c.err().get()}) {
      CPPUNIT_ASSERT(fd > 2);
      CPPUNIT_ASSERT(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
      CPPUNIT_ASSERT(::fcntl(fd, F_GETFL) & O_NONBLOCK);
    }
    c.Reap();
    CPPUNIT_ASSERT(!c.in() && !c.out() && !c.err());
  }

  void ExecFailureIsInternalAndLeavesNoZombie() {
    SpawnSpec spec;
    spec.exe = "/nonexistent/git";
    auto r = SpawnPiped(spec);
    CPPUNIT_ASSERT(!r.ok());
    CPPUNIT_ASSERT(r.status().code == Code::Internal);
    CPPUNIT_ASSERT_MESSAGE(r.status().message, r.status().message.find("No such file") != std::string::npos);
    CPPUNIT_ASSERT(ChildrenOfThisProcess().empty());
  }

  static kod::Code CodeOf(const std::string& exe, const Env& env, const std::string& cwd = "") {
    SpawnSpec spec;
    spec.exe = exe;
    spec.args = {"-c", "true"};
    spec.env = env;
    spec.cwd = cwd;
    return Spawn(spec).status().code;
  }

  void RejectsRelativeExeAndBadEnv() {
    CPPUNIT_ASSERT(CodeOf("sh", {}) == Code::InvalidArgument);
    CPPUNIT_ASSERT(CodeOf("/bin/sh", {{"A=B", "1"}}) == Code::InvalidArgument);
    CPPUNIT_ASSERT(CodeOf("/bin/sh", {{"", "1"}}) == Code::InvalidArgument);
    CPPUNIT_ASSERT(CodeOf("/bin/sh", {{"A", std::string("a\0b", 3)}}) == Code::InvalidArgument);
    CPPUNIT_ASSERT(CodeOf("/bin/sh", {}, "relative/dir") == Code::InvalidArgument);
    CPPUNIT_ASSERT(ChildrenOfThisProcess().empty());
  }

  void MissingCwdIsInternalAndLeavesNoZombie() {
    CPPUNIT_ASSERT(CodeOf("/bin/sh", {}, "/nonexistent/dir") == Code::Internal);
    CPPUNIT_ASSERT(ChildrenOfThisProcess().empty());
  }

  void SessionLeaderInItsDirectoryWithDevNull() {
    // Spawn with the caller's descriptors: stdout and stderr share one pipe, stdin is /dev/null.
    auto pipe = kod::MakePipe();
    CPPUNIT_ASSERT(pipe.ok());
    SpawnSpec spec;
    spec.exe = "/bin/sh";
    spec.args = {"-c", "read -r pid comm state ppid pgrp sid rest < /proc/$$/stat; "
                       "echo \"$$ $pgrp $sid $(pwd) $(readlink /proc/$$/fd/0)\"; echo err >&2"};
    spec.stdout_fd = spec.stderr_fd = pipe->write.get();
    spec.cwd = "/tmp";
    spec.leader = Leader::kSession;
    auto pid = Spawn(spec);
    CPPUNIT_ASSERT(pid.ok());
    pipe->write.Reset();
    std::string out = ReadAll(pipe->read.get());
    int st = 0;
    CPPUNIT_ASSERT_EQUAL(*pid, ::waitpid(*pid, &st, 0));
    const std::string p = std::to_string(*pid);
    CPPUNIT_ASSERT_EQUAL(p + " " + p + " " + p + " /tmp /dev/null\nerr\n", out);
  }

  void TerminateKillsTheWholeGroup() {
    // The grandchild ignores SIGTERM: only the SIGKILL after the grace period ends it.
    Child c = SpawnSh("(trap '' TERM; exec sleep 30) & echo $!; wait");
    pid_t grandchild = static_cast<pid_t>(std::stoi(ReadLine(c.out().get())));
    CPPUNIT_ASSERT(!Dead(grandchild));
    auto t0 = std::chrono::steady_clock::now();
    int st = c.Terminate(std::chrono::milliseconds(300));
    auto took = std::chrono::steady_clock::now() - t0;
    CPPUNIT_ASSERT(WIFSIGNALED(st));
    CPPUNIT_ASSERT_EQUAL(SIGTERM, WTERMSIG(st));
    CPPUNIT_ASSERT(took < std::chrono::seconds(2));
    for (int i = 0; i < 100 && !Dead(grandchild); ++i) ::usleep(10 * 1000);
    CPPUNIT_ASSERT(Dead(grandchild));
    CPPUNIT_ASSERT(ChildrenOfThisProcess().empty());
  }

  void DestructorKillsAndReaps() {
    pid_t pid;
    {
      Child c = SpawnSh("exec sleep 30");
      pid = c.pid();
      CPPUNIT_ASSERT(!c.Exited());
    }
    CPPUNIT_ASSERT(::kill(pid, 0) != 0 || Dead(pid));
    CPPUNIT_ASSERT(ChildrenOfThisProcess().empty());
    // A moved-from Child owns nothing; the moved-to one still cleans up.
    Child a = SpawnSh("exec sleep 30");
    Child b = std::move(a);
    CPPUNIT_ASSERT_EQUAL(pid_t{-1}, a.pid());
    b = SpawnSh("exit 0");
    CPPUNIT_ASSERT_EQUAL(size_t{1}, ChildrenOfThisProcess().size());
    b.Reap();
    CPPUNIT_ASSERT(ChildrenOfThisProcess().empty());
  }

  void ExitFdBecomesReadableOnExit() {
    Child c = SpawnSh("read x");
    CPPUNIT_ASSERT(c.exit_fd() >= 0);  // kernel >= 5.3 here
    struct pollfd p = {c.exit_fd(), POLLIN, 0};
    CPPUNIT_ASSERT_EQUAL(0, ::poll(&p, 1, 50));
    c.in().Reset();  // EOF on stdin: the shell's read returns and it exits
    CPPUNIT_ASSERT_EQUAL(1, ::poll(&p, 1, 5000));
    CPPUNIT_ASSERT(c.Exited());
    CPPUNIT_ASSERT(!c.reaped());  // Exited() does not reap
    CPPUNIT_ASSERT_EQUAL(size_t{1}, ChildrenOfThisProcess().size());
    c.Reap();
    CPPUNIT_ASSERT(ChildrenOfThisProcess().empty());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SpawnTest);
