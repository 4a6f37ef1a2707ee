// The per-process context every use case runs in: configuration, database session, secret key.
#pragma once

#include <memory>

#include "lib/core/config.h"
#include "lib/core/status.h"

namespace kod::crypto {
class SecretKey;
}
namespace kod::db {
class Session;
}

namespace kod::service {

/// Borrowed references; one Env per process (or per runner thread, each with its own Session).
struct Env {
  const Config& config;
  db::Session& db;
  const crypto::SecretKey* key = nullptr;  // null when no encryption key is configured
};

/// An Env with a database session of its own, for callers outside lib/ (kod-fcgi's workers,
/// kod-runner's threads, kod-hook), which never see the database layer. The session connects
/// lazily, on first use (so it may be created before a fork, but used only on one side of it),
/// and is not thread-safe: one OwnedEnv per thread. `config` and `key` must outlive it.
class OwnedEnv {
 public:
  OwnedEnv(const Config& config, const crypto::SecretKey* key);
  ~OwnedEnv();
  OwnedEnv(const OwnedEnv&) = delete;
  OwnedEnv& operator=(const OwnedEnv&) = delete;

  Env& env() { return env_; }

 private:
  std::unique_ptr<db::Session> session_;
  Env env_;
};

/// True when the database answers a trivial query (reconnecting if needed). Never throws.
/// For health checks, which may reuse an answer up to 1 s old: so does this (cache::kDatabaseHealth).
bool DatabaseReachable(Env& env);

/// Process start-up: waits up to `wait_s` seconds for the database to answer, then brings the
/// schema up to date (the compiled-in migrations, under a database lock). The Status message is
/// one line fit for stderr.
Status PrepareDatabase(Env& env, int wait_s);

}  // namespace kod::service
