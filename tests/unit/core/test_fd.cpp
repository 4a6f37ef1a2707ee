// lib/core/fd: UniqueFd ownership and pipes whose ends never land on descriptors 0–2.
#include <cppunit/extensions/HelperMacros.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/core/fd.h"

namespace {
bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }
}  // namespace

class FdTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(FdTest);
  CPPUNIT_TEST(ClosesOnceAndMoves);
  CPPUNIT_TEST(PipeIsCloexecAndWorks);
  CPPUNIT_TEST(PipeEndsStayAboveStdioWhenStdinIsClosed);
  CPPUNIT_TEST_SUITE_END();

 public:
  void ClosesOnceAndMoves() {
    int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    {
      kod::UniqueFd a(raw);
      kod::UniqueFd b = std::move(a);
      CPPUNIT_ASSERT(!a.valid());
      CPPUNIT_ASSERT_EQUAL(raw, b.get());
      b = std::move(b);  // self-move keeps it
      CPPUNIT_ASSERT(IsOpen(raw));
    }
    CPPUNIT_ASSERT(!IsOpen(raw));
    kod::UniqueFd c(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int kept = c.Release();
    CPPUNIT_ASSERT(!c.valid());
    CPPUNIT_ASSERT(IsOpen(kept));
    ::close(kept);
  }

  void PipeIsCloexecAndWorks() {
    auto p = kod::MakePipe(O_NONBLOCK);
    CPPUNIT_ASSERT(p.ok());
    for (int fd : {p->read.get(), p->write.get()}) {
      CPPUNIT_ASSERT(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
      CPPUNIT_ASSERT(::fcntl(fd, F_GETFL) & O_NONBLOCK);
    }
    char c = 0;
    CPPUNIT_ASSERT_EQUAL(ssize_t{-1}, ::read(p->read.get(), &c, 1));  // empty, non-blocking
    CPPUNIT_ASSERT_EQUAL(ssize_t{1}, ::write(p->write.get(), "x", 1));
    CPPUNIT_ASSERT_EQUAL(ssize_t{1}, ::read(p->read.get(), &c, 1));
    CPPUNIT_ASSERT_EQUAL('x', c);
  }

  void PipeEndsStayAboveStdioWhenStdinIsClosed() {
    int saved = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
    CPPUNIT_ASSERT(saved >= 3);
    ::close(0);
    auto p = kod::MakePipe();
    bool zero_free = !IsOpen(0);
    ::dup2(saved, 0);
    ::close(saved);
    CPPUNIT_ASSERT(p.ok());
    CPPUNIT_ASSERT(p->read.get() > 2 && p->write.get() > 2);
    CPPUNIT_ASSERT(::fcntl(p->read.get(), F_GETFD) & FD_CLOEXEC);
    CPPUNIT_ASSERT(zero_free);  // the temporary descriptor 0 was closed again
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FdTest);
