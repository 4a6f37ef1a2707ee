// kod-runner's daemon loop: claims queued runs from the database (several runners may share it),
// runs up to runner.concurrency at once, heartbeats, reaps runs whose runner died.
#pragma once

#include <string>

#include "lib/core/config.h"

namespace kod::crypto {
class SecretKey;
}

namespace kod::runner {

/// Runs until SIGTERM/SIGINT. Then it claims nothing new, kills the running steps, marks their
/// runs failed ("Runner stopped") and ends the process with _exit(0) (its executor threads are
/// not joined). `key` may be null (no secrets configured). Returns only when it cannot start
/// (1: no wake-up pipe).
int RunDaemon(const Config& config, const crypto::SecretKey* key);

}  // namespace kod::runner
