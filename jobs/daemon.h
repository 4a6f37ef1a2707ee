// kod-jobs' loop: worker threads claiming due jobs from the database (exactly once), a keeper
// thread extending leases, taking back the jobs of dead instances and running periodic
// housekeeping, and a clean stop on SIGTERM.
#pragma once

#include "lib/core/config.h"

namespace kod::crypto {
class SecretKey;
}

namespace kod::jobs {

/// Runs until SIGTERM/SIGINT, then claims nothing new, lets attempts in progress end (each kind
/// bounds its attempts and ends early when asked), gives back what it still holds and returns 0.
/// `key` may be null (no secrets key configured). Returns 1 when it cannot start.
int RunDaemon(const Config& config, const crypto::SecretKey* key);

}  // namespace kod::jobs
