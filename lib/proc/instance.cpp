#include "lib/proc/instance.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "lib/crypto/random.h"

namespace kod::proc {
namespace {

std::string Hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// "<host>/<pid>/<nonce>" → pid if `id` was made on this host.
std::optional<pid_t> LocalPid(const std::string& id) {
  size_t a = id.find('/');
  size_t b = id.find('/', a == std::string::npos ? a : a + 1);
  if (a == std::string::npos || b == std::string::npos || id.substr(0, a) != Hostname()) return std::nullopt;
  try {
    return static_cast<pid_t>(std::stol(id.substr(a + 1, b - a - 1)));
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

std::string NewInstanceId() { return Hostname() + "/" + std::to_string(getpid()) + "/" + crypto::NewId(); }

bool InstanceGone(const std::string& id) {
  auto pid = LocalPid(id);
  return pid && *pid > 0 && kill(*pid, 0) != 0 && errno == ESRCH;
}

}  // namespace kod::proc
