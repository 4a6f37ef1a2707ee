// kod-fcgi's process model: a master that owns the FastCGI socket and supervises a pool of
// preforked workers (docs/platform-notes.md#libfcgi): respawn on death, drain on SIGTERM, rolling reload on SIGHUP.
#pragma once

#include <memory>
#include <string>

#include "lib/core/config.h"

namespace kod::crypto {
class SecretKey;
}

namespace kod::fcgi {

/// Everything a worker inherits from the master at fork time.
struct WorkerSetup {
  Config config;
  std::shared_ptr<crypto::SecretKey> key;  // null without an encryption key
};

/// Prepares the database and disk for serving (called by the master before forking and on
/// SIGHUP): waits up to `wait_s` seconds for MariaDB, applies migrations, creates the bootstrap
/// admin token, checks the encryption key (refusing to start on a mismatch), recovers
/// interrupted deletes. Returns an error message, or "" on success.
std::string PrepareStartup(const Config& config, WorkerSetup& setup, int wait_s);

/// The listening socket: systemd's (LISTEN_FDS/LISTEN_PID, fd 3), an inherited socket on fd 0
/// (spawn-fcgi), or a unix socket at config.socket chmod'ed to config.socket_mode. Refuses to
/// steal the path from a running server. Returns the fd (CLOEXEC set) or -1 with `error` set.
int OpenListenSocket(const Config& config, std::string& error);

/// Runs the master loop until SIGTERM/SIGINT and every worker has drained. Returns the exit code.
/// `config_path`/`explicit_path` are re-read on SIGHUP.
int RunMaster(int listen_fd, WorkerSetup setup, const std::string& config_path, bool explicit_path);

}  // namespace kod::fcgi
