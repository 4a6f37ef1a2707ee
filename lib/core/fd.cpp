#include "lib/core/fd.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace kod {

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

int MoveAboveStdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return moved;
}

Result<Pipe> MakePipe(int extra_flags) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | extra_flags) != 0) return Internal(std::string("pipe2: ") + std::strerror(errno));
  Pipe p{UniqueFd(MoveAboveStdio(fds[0])), UniqueFd(MoveAboveStdio(fds[1]))};
  if (!p.read || !p.write) return Internal(std::string("fcntl: ") + std::strerror(errno));
  return p;
}

Result<UniqueFd> MakeMemFd(const char* name, std::string_view contents) {
  UniqueFd fd(MoveAboveStdio(::memfd_create(name, MFD_CLOEXEC)));
  if (!fd) return Internal(std::string("memfd_create: ") + std::strerror(errno));
  while (!contents.empty()) {
    ssize_t n = ::write(fd.get(), contents.data(), contents.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Internal(std::string("write: ") + std::strerror(n < 0 ? errno : EIO));
    contents.remove_prefix(static_cast<size_t>(n));
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return Internal(std::string("lseek: ") + std::strerror(errno));
  return fd;
}

bool SetNonBlocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  return fl >= 0 && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

bool SetCloseOnExec(int fd) {
  int fl = ::fcntl(fd, F_GETFD);
  return fl >= 0 && ::fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == 0;
}

}  // namespace kod
