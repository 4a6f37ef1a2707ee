// Unit tests for runner/executor.h: exit codes, environment, output, deadlines and leftovers.
#include "runner/executor.h"

#include <cppunit/extensions/HelperMacros.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/clock.h"

namespace kod::runner {
namespace {

using namespace std::string_literals;

ShellCommand Cmd(std::string line, int64_t timeout_ms = 10000) {
  ShellCommand c;
  c.script = std::move(line);
  c.cwd = "/tmp";
  c.env = {{"PATH", "/usr/bin:/bin"}, {"HOME", "/tmp"}, {"LANG", "C.UTF-8"}};
  c.deadline_ms = MonotonicMs() + timeout_ms;
  return c;
}

struct Ran {
  CommandResult result;
  std::string out;
  int64_t ms = 0;
};

Ran Run(const ShellCommand& c, const std::vector<std::string>& secrets = {}) {
  Ran r;
  OutputCapture capture(secrets);
  int64_t t0 = MonotonicMs();
  r.result = RunShell(c, capture);
  r.ms = MonotonicMs() - t0;
  r.out = capture.Finish();
  return r;
}

// A sleep duration no other test (or other test binary) uses: its argv names our processes.
std::string Unique(int n) { return std::to_string(600 + n) + "." + std::to_string(::getpid()); }

// A /proc file; "" if the process is gone (reads can fail with ESRCH mid-way).
std::string ReadFile(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

// Live processes with `arg` as one of their arguments. Found ones are killed so that a failing
// test does not leave sleeps behind for the next one.
int CountAndKillProcessesWithArg(const std::string& arg) {
  int found = 0;
  DIR* d = ::opendir("/proc");
  while (const dirent* e = d ? ::readdir(d) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string cmdline = ReadFile("/proc/"s + e->d_name + "/cmdline");
    std::vector<std::string> args;
    std::string cur;
    for (char ch : cmdline) {
      if (ch == '\0') {
        args.push_back(cur);
        cur.clear();
      } else {
        cur += ch;
      }
    }
    if (std::find(args.begin(), args.end(), arg) != args.end()) {
      ++found;
      pid_t pid = std::atoi(e->d_name);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);  // if it was reparented to us (ECHILD otherwise)
    }
  }
  if (d) ::closedir(d);
  return found;
}

// Zombies whose parent is this test process (RunShell must reap what it kills).
int ZombieChildren() {
  int found = 0;
  DIR* d = ::opendir("/proc");
  while (const dirent* e = d ? ::readdir(d) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string stat = ReadFile("/proc/"s + e->d_name + "/stat");
    auto rp = stat.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream in(stat.substr(rp + 2));
    char state = 0;
    long ppid = 0;
    in >> state >> ppid;
    if (state == 'Z' && ppid == ::getpid()) ++found;
  }
  if (d) ::closedir(d);
  return found;
}

class ExecutorTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ExecutorTest);
  CPPUNIT_TEST(ExitCodeIsReturned);
  CPPUNIT_TEST(DeathBySignalGives128PlusSignal);
  CPPUNIT_TEST(RunsInGivenWorkingDirectory);
  CPPUNIT_TEST(EnvironmentIsExactlyTheGivenOne);
  CPPUNIT_TEST(StdoutAndStderrInterleaveInOrder);
  CPPUNIT_TEST(StdinIsDevNull);
  CPPUNIT_TEST(ScriptIsNotInAnyCommandLine);
  CPPUNIT_TEST(LongScriptIsNotReadByItsCommands);
  CPPUNIT_TEST(NoDescriptorIsInherited);
  CPPUNIT_TEST(OutputIsMaskedAcrossWrites);
  CPPUNIT_TEST(InvalidUtf8OutputBecomesReplacementCharacter);
  CPPUNIT_TEST(TenMegabytesOfOutputAreCapped);
  CPPUNIT_TEST(BackgroundedSleepDoesNotHoldTheStep);
  CPPUNIT_TEST(SetsidEscapeeIsKilledAfterTheStep);
  CPPUNIT_TEST(DaemonWithRedirectedOutputIsKilledAfterTheStep);
  CPPUNIT_TEST(DaemonStartedAsLastCommandIsKilled);
  CPPUNIT_TEST(ShortLivedEscapeesAreReaped);
  CPPUNIT_TEST(ForeignChildStartedBeforeStepIsLeftAlone);
  CPPUNIT_TEST(TimeoutKillsTheStepAndItsEscapees);
  CPPUNIT_TEST(TimedOutStepKeepsGraceAfterShellDies);
  CPPUNIT_TEST(StepIgnoringSigtermIsKilledAfterRealGrace);
  CPPUNIT_TEST(ConcurrentStepsDoNotKillEachOther);
  CPPUNIT_TEST(MissingWorkingDirectoryIsASpawnError);
  CPPUNIT_TEST(InvalidCommandsAreRejected);
  CPPUNIT_TEST(PassedDeadlineRunsNothing);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override { BecomeSubreaper(); }

  void tearDown() override { CPPUNIT_ASSERT_EQUAL(0, ZombieChildren()); }

  void ExitCodeIsReturned() {
    Ran r = Run(Cmd("exit 3"));
    CPPUNIT_ASSERT_EQUAL(3, r.result.exit_code);
    CPPUNIT_ASSERT(!r.result.timed_out);
    CPPUNIT_ASSERT_EQUAL(""s, r.result.spawn_error);
    CPPUNIT_ASSERT_EQUAL(0, Run(Cmd("true")).result.exit_code);
  }

  void DeathBySignalGives128PlusSignal() {
    CPPUNIT_ASSERT_EQUAL(128 + SIGKILL, Run(Cmd("kill -9 $$")).result.exit_code);
  }

  void RunsInGivenWorkingDirectory() {
    char dir[] = "/tmp/kod-exec-XXXXXX";
    CPPUNIT_ASSERT(::mkdtemp(dir) != nullptr);
    ShellCommand c = Cmd("pwd");
    c.cwd = dir;
    Ran r = Run(c);
    ::rmdir(dir);
    CPPUNIT_ASSERT_EQUAL(0, r.result.exit_code);
    CPPUNIT_ASSERT_EQUAL(std::string(dir) + "\n", r.out);
  }

  void EnvironmentIsExactlyTheGivenOne() {
    ::setenv("KOD_EXECUTOR_TEST_LEAK", "leaked", 1);
    ShellCommand c = Cmd("env");
    c.env["CI"] = "true";
    c.env["KOD_RUN_ID"] = "42";
    c.env["EMPTY"] = "";
    c.env["WITH_SPACES"] = "a b  c";
    Ran r = Run(c);
    ::unsetenv("KOD_EXECUTOR_TEST_LEAK");
    CPPUNIT_ASSERT_EQUAL(0, r.result.exit_code);
    std::set<std::string> got;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) got.insert(line);
    // PWD is exported by /bin/sh (dash) itself, whatever the environment it was given.
    std::set<std::string> want = {"CI=true", "EMPTY=", "HOME=/tmp", "KOD_RUN_ID=42",
                                  "LANG=C.UTF-8", "PATH=/usr/bin:/bin", "PWD=/tmp",
                                  "WITH_SPACES=a b  c"};
    CPPUNIT_ASSERT_EQUAL(std::string(), [&] {
      std::string diff;
      for (const auto& s : got) if (!want.count(s)) diff += "unexpected: " + s + "\n";
      for (const auto& s : want) if (!got.count(s)) diff += "missing: " + s + "\n";
      return diff;
    }());
  }

  void StdoutAndStderrInterleaveInOrder() {
    Ran r = Run(Cmd("echo out-1; echo err-2 >&2; echo out-3"));
    CPPUNIT_ASSERT_EQUAL("out-1\nerr-2\nout-3\n"s, r.out);
  }

  // Commands read EOF from stdin, as from /dev/null (the script came through it).
  void StdinIsDevNull() {
    Ran r = Run(Cmd("cat; echo rc=$?"), {});
    CPPUNIT_ASSERT_EQUAL("rc=0\n"s, r.out);
    CPPUNIT_ASSERT(r.ms < 2000);
  }

  // Issue 9 defect 3: /proc/<pid>/cmdline is world-readable, so the script (which may hold
  // what a step does with a secret) must not be in the shell's argv. Seen failing with `sh -c`.
  void ScriptIsNotInAnyCommandLine() {
    const std::string marker = "kod-marker-" + Unique(1);
    Ran r = Run(Cmd(": " + marker + "; tr '\\0' ' ' </proc/$$/cmdline; echo"));
    CPPUNIT_ASSERT_EQUAL(0, r.result.exit_code);
    CPPUNIT_ASSERT_MESSAGE(r.out, r.out.find(marker) == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(r.out, r.out.find("/bin/sh") != std::string::npos);
  }

  // A script longer than the shell's read buffer is read whole before it runs: `cat` sees none
  // of it.
  void LongScriptIsNotReadByItsCommands() {
    std::string line = "x='" + std::string(100000, 'a') + "'; cat; echo len=${#x}";
    Ran r = Run(Cmd(line));
    CPPUNIT_ASSERT_EQUAL("len=100000\n"s, r.out);
  }

  void NoDescriptorIsInherited() {
    int leaky = ::open("/dev/null", O_RDONLY);  // deliberately not close-on-exec
    CPPUNIT_ASSERT(leaky > 2);
    Ran r = Run(Cmd("ls /proc/self/fd"));
    ::close(leaky);
    // 0-2 and ls's own handle on the directory.
    CPPUNIT_ASSERT_EQUAL("0\n1\n2\n3\n"s, r.out);
  }

  void OutputIsMaskedAcrossWrites() {
    Ran r = Run(Cmd("printf 'xx Sup3r'; sleep 0.3; printf 'S3cret yy\\n'; printf 'l1\\nl2\\n' >&2"),
                {"Sup3rS3cret", "l1\nl2\n"});
    CPPUNIT_ASSERT_EQUAL("xx *** yy\n***"s, r.out);
  }

  void InvalidUtf8OutputBecomesReplacementCharacter() {
    Ran r = Run(Cmd("printf 'a\\377b\\n'"));
    CPPUNIT_ASSERT_EQUAL("a\xEF\xBF\xBD" "b\n"s, r.out);
  }

  void TenMegabytesOfOutputAreCapped() {
    Ran r = Run(Cmd("head -c 10000000 /dev/zero | tr '\\0' a"));
    CPPUNIT_ASSERT_EQUAL(0, r.result.exit_code);
    const std::size_t limit = OutputCapture::kDefaultLimit;
    std::string marker = "\n[... " + std::to_string(10000000 - limit) + " bytes of output omitted ...]\n";
    CPPUNIT_ASSERT_EQUAL(limit + marker.size(), r.out.size());
    CPPUNIT_ASSERT(r.out.compare(0, limit / 2, std::string(limit / 2, 'a')) == 0);
    CPPUNIT_ASSERT(r.out.compare(limit / 2, marker.size(), marker) == 0);
    CPPUNIT_ASSERT(r.out.compare(limit / 2 + marker.size(), limit / 2, std::string(limit / 2, 'a')) == 0);
  }

  void BackgroundedSleepDoesNotHoldTheStep() {
    std::string m = Unique(1);
    Ran r = Run(Cmd("sleep " + m + " & exit 0", 2000));
    CPPUNIT_ASSERT_EQUAL(0, r.result.exit_code);
    CPPUNIT_ASSERT(!r.result.timed_out);
    CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(r.ms) + " ms", r.ms < 1500);
    CPPUNIT_ASSERT_EQUAL(0, CountAndKillProcessesWithArg(m));
  }

  void SetsidEscapeeIsKilledAfterTheStep() {
    std::string m = Unique(2);
    Ran r = Run(Cmd("setsid sleep " + m + " & echo started", 2000));
    CPPUNIT_ASSERT_EQUAL(0, r.result.exit_code);
    CPPUNIT_ASSERT(!r.result.timed_out);
    CPPUNIT_ASSERT_EQUAL("started\n"s, r.out);
    CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(r.ms) + " ms", r.ms < 1500);
    CPPUNIT_ASSERT_EQUAL(0, CountAndKillProcessesWithArg(m));
  }

  void DaemonWithRedirectedOutputIsKilledAfterTheStep() {
    // New session, no output pipe, its parent gone at once (a classic daemon): still found,
    // because it was seen descending from the step while the step ran.
    std::string m = Unique(3);
    Ran r = Run(Cmd("setsid sh -c 'sleep " + m + " & exit 0' </dev/null >/dev/null 2>&1 & "
                    "sleep 0.5; echo ok", 2000));
    CPPUNIT_ASSERT_EQUAL(0, r.result.exit_code);
    CPPUNIT_ASSERT_EQUAL("ok\n"s, r.out);
    CPPUNIT_ASSERT_EQUAL(0, CountAndKillProcessesWithArg(m));
  }

  void DaemonStartedAsLastCommandIsKilled() {
    // fork, setsid, fork, parent exits, output redirected, and the shell ends at once: no scan
    // ever sees it inside the step; it reaches us as an orphan once the shell is gone.
    std::string m = Unique(20);
    Ran r = Run(Cmd("setsid sh -c 'sleep " + m + " & exit 0' </dev/null >/dev/null 2>&1", 2000));
    CPPUNIT_ASSERT_EQUAL(0, r.result.exit_code);
    CPPUNIT_ASSERT_EQUAL(0, CountAndKillProcessesWithArg(m));
  }

  void ShortLivedEscapeesAreReaped() {
    // Each `setsid true` ends as a zombie the shell never waits for; once the shell exits they
    // are ours (subreaper) and must not pile up in the runner.
    Ran r = Run(Cmd("for i in 1 2 3 4 5 6 7 8; do setsid true & done; exit 0", 2000));
    CPPUNIT_ASSERT_EQUAL(0, r.result.exit_code);
    CPPUNIT_ASSERT_EQUAL(0, ZombieChildren());
  }

  void ForeignChildStartedBeforeStepIsLeftAlone() {
    // A child of the runner in a session of its own that no step started (it predates the step):
    // orphan adoption must not take it.
    std::string m = Unique(21);
    pid_t foreign = ::fork();
    if (foreign == 0) {
      ::setsid();
      ::execl("/bin/sleep", "sleep", m.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    CPPUNIT_ASSERT(foreign > 0);
    ::usleep(20000);  // a different start time (clock ticks are 10 ms)
    Ran r = Run(Cmd("setsid sh -c 'sleep 1 & exit 0' </dev/null >/dev/null 2>&1", 2000));
    bool alive = ::kill(foreign, 0) == 0;
    ::kill(foreign, SIGKILL);
    ::waitpid(foreign, nullptr, 0);
    CPPUNIT_ASSERT_EQUAL(0, r.result.exit_code);
    CPPUNIT_ASSERT(alive);
    CPPUNIT_ASSERT_EQUAL(0, CountAndKillProcessesWithArg(m));
  }

  void TimeoutKillsTheStepAndItsEscapees() {
    std::string m1 = Unique(4), m2 = Unique(5);
    ShellCommand c = Cmd("setsid sleep " + m2 + " >/dev/null 2>&1 & echo begun; sleep " + m1, 1000);
    c.kill_grace_ms = 500;
    Ran r = Run(c);
    CPPUNIT_ASSERT(r.result.timed_out);
    CPPUNIT_ASSERT_EQUAL(128 + SIGTERM, r.result.exit_code);
    CPPUNIT_ASSERT_EQUAL("begun\n"s, r.out);
    CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(r.ms) + " ms", r.ms >= 900 && r.ms < 3000);
    CPPUNIT_ASSERT_EQUAL(0, CountAndKillProcessesWithArg(m1));
    CPPUNIT_ASSERT_EQUAL(0, CountAndKillProcessesWithArg(m2));
  }

  void TimedOutStepKeepsGraceAfterShellDies() {
    // The shell dies of SIGTERM at once; its job traps SIGTERM and needs about 1 s to clean up,
    // which the 3 s grace period allows (docs/workflows.md: SIGKILL only after the grace period).
    ShellCommand c = Cmd("sh -c 'trap \"sleep 1; echo cleaned-up; exit 0\" TERM; "
                         "while :; do sleep 0.1; done' & wait",
                         1000);
    c.kill_grace_ms = 3000;
    Ran r = Run(c);
    CPPUNIT_ASSERT(r.result.timed_out);
    // (dash may also print "Terminated" for its foreground sleep killed by SIGTERM.)
    CPPUNIT_ASSERT_MESSAGE(r.out, r.out.find("cleaned-up\n") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(r.ms) + " ms", r.ms >= 1900 && r.ms < 3900);
  }

  void StepIgnoringSigtermIsKilledAfterRealGrace() {
    std::string m = Unique(7);
    Ran r = Run(Cmd("trap '' TERM; sleep " + m, 2000));  // default grace: 5 s
    CPPUNIT_ASSERT(r.result.timed_out);
    CPPUNIT_ASSERT_EQUAL(128 + SIGKILL, r.result.exit_code);
    CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(r.ms) + " ms", r.ms >= 6900 && r.ms < 10000);
    CPPUNIT_ASSERT_EQUAL(0, CountAndKillProcessesWithArg(m));
  }

  void ConcurrentStepsDoNotKillEachOther() {
    // Short steps leave leftovers (killed when each ends) while a long step's own escaped process
    // must survive them, then die with its own step.
    std::string long_m = Unique(8);
    Ran long_run;
    std::thread long_step([&] {
      long_run = Run(Cmd("setsid sleep " + long_m + " >/dev/null 2>&1 & p=$!; sleep 1.2; "
                         "kill -0 $p && echo alive",
                         8000));
    });
    std::vector<std::string> marks;
    for (int i = 0; i < 4; ++i) marks.push_back(Unique(10 + i));
    std::vector<Ran> short_runs(4);
    std::vector<std::thread> shorts;
    for (int i = 0; i < 4; ++i) {
      shorts.emplace_back([&, i] {
        ::usleep(100000 * static_cast<useconds_t>(i));
        short_runs[i] = Run(Cmd("setsid sleep " + marks[i] + " & sleep " + marks[i] + " & echo s" +
                                std::to_string(i), 8000));
      });
    }
    for (auto& t : shorts) t.join();
    long_step.join();
    for (int i = 0; i < 4; ++i) {
      CPPUNIT_ASSERT_EQUAL(0, short_runs[i].result.exit_code);
      CPPUNIT_ASSERT_EQUAL("s" + std::to_string(i) + "\n", short_runs[i].out);
      CPPUNIT_ASSERT_EQUAL(0, CountAndKillProcessesWithArg(marks[i]));
    }
    CPPUNIT_ASSERT_EQUAL(0, long_run.result.exit_code);
    CPPUNIT_ASSERT_EQUAL("alive\n"s, long_run.out);
    CPPUNIT_ASSERT_EQUAL(0, CountAndKillProcessesWithArg(long_m));
  }

  void MissingWorkingDirectoryIsASpawnError() {
    ShellCommand c = Cmd("echo hi");
    c.cwd = "/nonexistent/kod-executor-test";
    Ran r = Run(c);
    CPPUNIT_ASSERT(!r.result.spawn_error.empty());
    CPPUNIT_ASSERT_EQUAL(-1, r.result.exit_code);
    CPPUNIT_ASSERT_EQUAL(""s, r.out);
  }

  void InvalidCommandsAreRejected() {
    ShellCommand relative = Cmd("echo hi");
    relative.cwd = "tmp";
    CPPUNIT_ASSERT(!Run(relative).result.spawn_error.empty());
    ShellCommand bad_env = Cmd("echo hi");
    bad_env.env["A=B"] = "c";
    CPPUNIT_ASSERT(!Run(bad_env).result.spawn_error.empty());
    CPPUNIT_ASSERT(!Run(Cmd("echo a"s + '\0' + "b")).result.spawn_error.empty());
  }

  void PassedDeadlineRunsNothing() {
    char dir[] = "/tmp/kod-exec-XXXXXX";
    CPPUNIT_ASSERT(::mkdtemp(dir) != nullptr);
    ShellCommand c = Cmd("touch ran");
    c.cwd = dir;
    c.deadline_ms = MonotonicMs() - 1;
    Ran r = Run(c);
    bool ran = ::access((std::string(dir) + "/ran").c_str(), F_OK) == 0;
    ::unlink((std::string(dir) + "/ran").c_str());
    ::rmdir(dir);
    CPPUNIT_ASSERT(r.result.timed_out);
    CPPUNIT_ASSERT_EQUAL(-1, r.result.exit_code);
    CPPUNIT_ASSERT(!ran);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ExecutorTest);

}  // namespace
}  // namespace kod::runner
