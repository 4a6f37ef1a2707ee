// Followers of run logs (GET /repos/:name/workflows/:id/logs?follow=1) that do not hold a worker:
// each is streamed by a thread of its own while the worker goes back to accepting requests, and
// one poller per worker process reads each followed run's new output for all of its followers
// (docs/workflows.md#following-a-log).
#pragma once

#include <fcgiapp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "lib/core/config.h"
#include "lib/domain/run.h"

namespace kod::crypto {
class SecretKey;
}

namespace kod::fcgi {

/// What the handler read before handing a follower over: where the log stood then.
struct LogFollow {
  int64_t repo_id = 0;
  std::string run_id;
  uint64_t offset = 0;   // the first byte of `text` in the log
  std::string text;      // the log from `offset` as read by the handler
  uint64_t size = 0;     // the log's size then (X-Kod-Log-Size)
  domain::RunStatus status = domain::RunStatus::Queued;  // (X-Kod-Run-Status)
};

/// How long a follower stays at most, and how often the poller looks at a followed run.
inline constexpr int64_t kFollowMaxMs = 3600 * 1000;
inline constexpr int64_t kFollowPollMs = 250;

/// The followers of one worker process. Start() takes over an accepted request: its thread
/// writes the headers and `text`, then each new piece of the log as the poller finds it, until
/// the run has finished and everything is sent, the client is gone, kFollowMaxMs passed, or
/// StopAll(). The poller (a thread with its own database connection, started with the first
/// follower) reads, every kFollowPollMs, each followed run's log past what it has seen: one query
/// per run however many follow it, kept in a window its followers copy from; a follower behind
/// the window reads the log itself through the same connection.
class LogFollowers {
 public:
  LogFollowers(const Config& config, const crypto::SecretKey* key);
  ~LogFollowers();  ///< StopAll(), then waits for every thread
  LogFollowers(const LogFollowers&) = delete;
  LogFollowers& operator=(const LogFollowers&) = delete;

  /// Streams the log to `req` (accepted, nothing written yet) from follow.offset on; finishes
  /// and frees the request when done.
  void Start(std::unique_ptr<FCGX_Request> req, LogFollow follow);
  /// Ends every follower where it is (the worker is stopping); the clients can ask again from
  /// their offset.
  void StopAll();
  /// Followers being served now.
  int active() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace kod::fcgi
