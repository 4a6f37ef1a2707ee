// File descriptors: the one owning descriptor type of Kod and the pipe helpers built on it.
#pragma once

#include <string_view>
#include <utility>

#include "lib/core/status.h"

namespace kod {

/// Owns one file descriptor and closes it in the destructor. Move-only; -1 means "none".
/// Not thread-safe (like any value); the descriptor itself may be used from any thread.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) Reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  /// Closes the descriptor held (if any) and takes `fd` (-1: none).
  void Reset(int fd = -1);
  /// Gives up ownership without closing; returns the descriptor (-1 if none).
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

/// Both ends of a pipe(2).
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

/// pipe2(O_CLOEXEC | extra_flags) whose two ends are both above 2: when this process runs with
/// fd 0, 1 or 2 closed, a new descriptor could take that number, and a child's dup2 onto it
/// would then neither move it nor clear its close-on-exec flag. `extra_flags` may be O_NONBLOCK
/// (both ends; see SetNonBlocking to set one end only).
/// Errors: Internal("pipe2: <reason>") / Internal("fcntl: <reason>") (e.g. EMFILE).
Result<Pipe> MakePipe(int extra_flags = 0);

/// Moves a descriptor numbered 0–2 above 2 (F_DUPFD_CLOEXEC, the original closed) and returns the
/// new number; others are returned unchanged. -1 stays -1; -1 when the dup fails (fd closed).
int MoveAboveStdio(int fd);

/// An anonymous in-memory file (memfd_create, close-on-exec, above 2) holding `contents`, its
/// offset back at 0: a child given it as a descriptor reads exactly `contents`, then EOF, and
/// nothing of it shows in the child's command line. `name` only labels /proc/<pid>/fd links.
/// Errors: Internal("memfd_create: <reason>") / Internal("write: <reason>").
Result<UniqueFd> MakeMemFd(const char* name, std::string_view contents);

/// Sets O_NONBLOCK on `fd`. False (errno set) on failure.
bool SetNonBlocking(int fd);

/// Sets FD_CLOEXEC on `fd`. False (errno set) on failure.
bool SetCloseOnExec(int fd);

}  // namespace kod
