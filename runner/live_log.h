// A running step's output on its way to the database: batched appends, each naming its offset.
#pragma once

#include <cstdint>
#include <string>

#include "lib/domain/run.h"
#include "lib/service/env.h"
#include "runner/output.h"

namespace kod::runner {

/// How often a step's new output reaches the database at most (docs/workflows.md#live-output):
/// output after a quiet spell at once, then at most every kLiveFlushMs, or as soon as
/// kLiveFlushBytes are waiting; never once per line.
inline constexpr int64_t kLiveFlushMs = 250;
inline constexpr std::size_t kLiveFlushBytes = 64 * 1024;

/// Streams one step into its row of the run: the constructor inserts the step as running,
/// Tick() appends what `out` kept since the last append when it is due, Finish() appends the rest
/// (the head's remainder, and past the cap the marker line and the tail) and records the result.
/// Each append names the offset it continues (service::AppendStepOutput), so one retried after a
/// lost answer is applied once; a failed append is kept and retried at the next Tick.
/// When the step row cannot be inserted (database down), Finish records the step whole instead.
/// One thread (the step's executor).
class LiveStepLog {
 public:
  LiveStepLog(service::Env& env, const domain::Run& run, const std::string& name, OutputCapture& out);
  LiveStepLog(const LiveStepLog&) = delete;
  LiveStepLog& operator=(const LiveStepLog&) = delete;

  /// Appends what is waiting when kLiveFlushMs have passed since the last append, or when
  /// kLiveFlushBytes wait.
  void Tick();
  /// Ends the step: `out` is finished, the rest of its text appended, and `step` (its result:
  /// success, error, duration, CPU and memory) recorded with resources.output_bytes from `out`.
  void Finish(domain::StepResult& step);

 private:
  bool Flush();

  service::Env& env_;
  const domain::Run& run_;
  OutputCapture& out_;
  int idx_ = -1;             // the step's row; -1 when it could not be inserted
  uint64_t offset_ = 0;      // bytes of output the row holds
  std::string pending_;      // kept text not appended yet
  int64_t last_flush_ = 0;   // MonotonicMs() of the last append tried
};

}  // namespace kod::runner
