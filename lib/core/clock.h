// Wall-clock time in the unit the API uses: milliseconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace kod {

/// Milliseconds since the Unix epoch (docs/api.md: every timestamp is in this unit).
inline int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// Monotonic milliseconds, for durations and deadlines (never goes backwards).
inline int64_t MonotonicMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace kod
