#include "lib/core/wake.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kod::wake {

UniqueFd Bind(const std::string& dir, const std::string& name, std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  path = dir + "/" + name + "-" + std::to_string(getpid()) + ".sock";
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return UniqueFd();
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unlink(path.c_str());
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd || bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  chmod(path.c_str(), 0666);  // API workers and hooks may run as other users
  return fd;
}

void All(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return;
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return;
  for (const auto& entry : it) {
    const std::string p = entry.path().string();
    if (entry.path().extension() != ".sock" || p.size() >= sizeof(sockaddr_un::sun_path)) continue;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
    const char byte = 'w';
    if (sendto(fd.get(), &byte, 1, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 &&
        errno == ECONNREFUSED)
      std::filesystem::remove(entry.path(), ec);  // its daemon is gone
  }
}

void Drain(int fd) {
  char buf[64];
  while (recv(fd, buf, sizeof buf, 0) > 0) {
  }
}

}  // namespace kod::wake
