// lib/proc/tree: /proc/<pid>/stat parsing, trees and sessions, identity-checked signals, environ.
#include <cppunit/extensions/HelperMacros.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "lib/proc/spawn.h"
#include "lib/proc/tree.h"

using namespace kod::proc;

namespace {

ProcStat Fake(pid_t pid, pid_t ppid, pid_t sid) {
  ProcStat p;
  p.pid = pid;
  p.ppid = ppid;
  p.sid = sid;
  return p;
}

}  // namespace

class TreeTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(TreeTest);
  CPPUNIT_TEST(ParsesStatWithAWickedCommandName);
  CPPUNIT_TEST(RejectsTruncatedStat);
  CPPUNIT_TEST(ReadsThisProcess);
  CPPUNIT_TEST(DescendantsAndTheirSessions);
  CPPUNIT_TEST(SignalsOnlyTheSameProcess);
  CPPUNIT_TEST(FindsPipeWriterAndEnvironEntry);
  CPPUNIT_TEST_SUITE_END();

 public:
  void ParsesStatWithAWickedCommandName() {
    std::string line = "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 987654 "
                       "1000000 256 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
    auto p = ParseStat(4242, line);
    CPPUNIT_ASSERT(p.has_value());
    CPPUNIT_ASSERT_EQUAL('S', p->state);
    CPPUNIT_ASSERT_EQUAL(pid_t{1}, p->ppid);
    CPPUNIT_ASSERT_EQUAL(pid_t{4242}, p->pgrp);
    CPPUNIT_ASSERT_EQUAL(pid_t{4242}, p->sid);
    CPPUNIT_ASSERT_EQUAL(uint64_t{7}, p->utime);
    CPPUNIT_ASSERT_EQUAL(uint64_t{3}, p->stime);
    CPPUNIT_ASSERT_EQUAL(uint64_t{987654}, p->start);
    CPPUNIT_ASSERT_EQUAL(uint64_t{256}, p->rss);
  }

  void RejectsTruncatedStat() {
    CPPUNIT_ASSERT(!ParseStat(1, "").has_value());
    CPPUNIT_ASSERT(!ParseStat(1, "1 (x").has_value());
    CPPUNIT_ASSERT(!ParseStat(1, "1 (x) S 0 1 1 0 -1").has_value());
    CPPUNIT_ASSERT(!ParseStat(1, "1 (x)S 0 1 1").has_value());
  }

  void ReadsThisProcess() {
    auto me = ReadStat(::getpid());
    CPPUNIT_ASSERT(me.has_value());
    CPPUNIT_ASSERT_EQUAL(::getppid(), me->ppid);
    CPPUNIT_ASSERT_EQUAL(::getsid(0), me->sid);
    CPPUNIT_ASSERT(me->start > 0 && me->rss > 0);
    bool found = false;
    for (const ProcStat& p : ScanProcs()) found = found || (p.pid == ::getpid() && p.start == me->start);
    CPPUNIT_ASSERT(found);
  }

  void DescendantsAndTheirSessions() {
    // 10 → 11 → 12; 12 started session 12, whose member 20 was reparented to 1; 30 is unrelated.
    std::vector<ProcStat> procs = {Fake(10, 1, 5), Fake(11, 10, 5), Fake(12, 11, 12), Fake(20, 1, 12),
                                   Fake(30, 1, 5)};
    CPPUNIT_ASSERT((std::set<pid_t>{11, 12}) == Descendants(procs, 10, false));
    CPPUNIT_ASSERT((std::set<pid_t>{11, 12, 20}) == Descendants(procs, 10, true));
    CPPUNIT_ASSERT(Descendants(procs, 30, true).empty());
  }

  void SignalsOnlyTheSameProcess() {
    SpawnSpec spec;
    spec.exe = "/bin/sleep";
    spec.args = {"30"};
    auto c = SpawnPiped(spec);
    CPPUNIT_ASSERT(c.ok());
    auto st = ReadStat(c->pid());
    CPPUNIT_ASSERT(st.has_value());
    ProcStat other = *st;
    other.start += 1;  // as if the pid had been reused
    CPPUNIT_ASSERT(!SignalIfSame(other, SIGKILL));
    CPPUNIT_ASSERT(!c->Exited());
    CPPUNIT_ASSERT(SignalIfSame(*st, SIGKILL));
    int status = c->Reap();
    CPPUNIT_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CPPUNIT_ASSERT(!SignalIfSame(*st, SIGKILL));  // gone
  }

  void FindsPipeWriterAndEnvironEntry() {
    // sleep itself, not a shell that execs it: Spawn returns once the execve succeeded, so no
    // read below can fall into an exec (when /proc/<pid>/environ reads empty).
    SpawnSpec spec;
    spec.exe = "/bin/sleep";
    spec.args = {"30"};
    spec.env = {{"KOD_TEST_MARK", "run-1"}};
    auto c = SpawnPiped(spec);
    CPPUNIT_ASSERT(c.ok());
    struct stat out_st {}, in_st {};
    CPPUNIT_ASSERT_EQUAL(0, ::fstat(c->out().get(), &out_st));
    CPPUNIT_ASSERT_EQUAL(0, ::fstat(c->in().get(), &in_st));
    CPPUNIT_ASSERT(HoldsPipeWriteEnd(c->pid(), out_st.st_ino));   // its stdout
    CPPUNIT_ASSERT(!HoldsPipeWriteEnd(c->pid(), in_st.st_ino));   // its stdin: the read end
    CPPUNIT_ASSERT(!HoldsPipeWriteEnd(::getpid(), out_st.st_ino));
    CPPUNIT_ASSERT(EnvironHas(c->pid(), "KOD_TEST_MARK=run-1"));
    CPPUNIT_ASSERT(!EnvironHas(c->pid(), "KOD_TEST_MARK=run-"));
    CPPUNIT_ASSERT(!EnvironHas(c->pid(), "KOD_TEST_MARK=run-12"));
    auto self_desc = Descendants(ScanProcs(), ::getpid(), false);
    CPPUNIT_ASSERT(self_desc.count(c->pid()) == 1);
    c->Terminate(std::chrono::milliseconds(1000));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TreeTest);
