// The per-process context every use case runs in: configuration, database session, secret key.
#pragma once

#include "lib/core/config.h"
#include "lib/db/db.h"

namespace kod::crypto {
class SecretKey;
}

namespace kod::service {

/// Borrowed references; one Env per process (or per runner thread, each with its own Session).
struct Env {
  const Config& config;
  db::Session& db;
  const crypto::SecretKey* key = nullptr;  // null when no encryption key is configured
};

}  // namespace kod::service
