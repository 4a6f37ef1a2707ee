// Wake-ups between processes on one host: a daemon binds a unix datagram socket in a directory,
// and whoever queued work for it sends one byte to every socket there (best effort; the daemons
// also poll, so a lost wake-up only delays).
#pragma once

#include <string>

#include "lib/core/fd.h"

namespace kod::wake {

/// Binds a non-blocking datagram socket `<dir>/<name>-<pid>.sock` (mode 0666, `dir` created) and
/// sets `path`. An invalid descriptor when it cannot (the path is too long, no permission).
UniqueFd Bind(const std::string& dir, const std::string& name, std::string& path);

/// Sends a wake-up byte to every `*.sock` in `dir`; removes sockets nobody listens on.
void All(const std::string& dir);

/// Reads and drops every pending wake-up on `fd`.
void Drain(int fd);

}  // namespace kod::wake
