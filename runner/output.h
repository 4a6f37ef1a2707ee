// Step output capture: secret masking, UTF-8 repair and the 1 MiB head+tail cap (docs/workflows.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/limits.h"

namespace kod::runner {

/// Collects the output of one workflow step (stdout and stderr already interleaved on one pipe)
/// and turns it into the text stored with the run. The byte stream goes through three stages:
///
///  1. Masking (docs/workflows.md#masking): every pattern of MaskPatterns(secrets) (each value
///     of at least 4 bytes, each such line of a multi-line value, and their JSON, percent, hex
///     and Base64 forms) is replaced by `***`. At each position the longest matching pattern
///     wins and matching restarts after it (leftmost-longest, non-overlapping). Matching is
///     streaming (Aho-Corasick) and works across Append() boundaries: only bytes that could
///     still be the start of a pattern are held back until more data or Finish() decides them,
///     so output that cannot begin a secret is passed on at once. Masking runs on raw bytes,
///     before any other change, so a secret is masked even when it is not valid UTF-8 and is
///     never split by stage 2 or 3.
///  2. UTF-8 repair: each maximal ill-formed subsequence becomes U+FFFD (the Unicode "best
///     practice" of chapter 3, as in WHATWG's decoder). A sequence cut by a chunk boundary is held
///     until the next chunk.
///  3. Cap: at most `limit_bytes` (default 1 MiB) of text are kept: the first half and the last
///     half, joined by the line `\n[... N bytes of output omitted ...]\n` (N counts repaired bytes).
///     Neither cut falls inside a UTF-8 sequence, so the result is always valid UTF-8.
///
/// Memory stays bounded whatever the output size: about limit_bytes * 1.5 plus the longest secret
/// plus one 64 KiB work slice (Append() feeds large inputs through in slices).
///
/// Not thread-safe: one step, one thread (RunShell appends from the calling thread only).
class OutputCapture {
 public:
  static constexpr std::size_t kDefaultLimit = limits::kMaxStepOutputBytes;

  /// `secrets`: the values to mask (empty values are ignored). `limit_bytes` (≥ 2) is the cap
  /// on the kept text, not counting the omission marker; tests use small values.
  explicit OutputCapture(const std::vector<std::string>& secrets = {},
                         std::size_t limit_bytes = kDefaultLimit);
  ~OutputCapture();
  OutputCapture(OutputCapture&&) noexcept;
  OutputCapture& operator=(OutputCapture&&) noexcept;
  OutputCapture(const OutputCapture&) = delete;
  OutputCapture& operator=(const OutputCapture&) = delete;

  /// Feeds raw output bytes (any content, any chunking). Ignored after Finish().
  void Append(std::string_view bytes);

  /// Flushes everything still held back and returns the final text: masked, valid UTF-8, capped.
  /// Call once; later calls return "".
  std::string Finish();

  /// The kept text produced since the last call, for live output: the head as it grows (masked,
  /// valid UTF-8). Once the head is full it returns "" until Finish(), whose text starts with
  /// everything TakeNew() returned (then the marker and the tail).
  std::string TakeNew();

  /// Bytes TakeNew() has returned so far.
  uint64_t taken_bytes() const;

  /// Bytes of masked and repaired text produced so far (before the cap), for logs and metrics.
  uint64_t total_bytes() const;

  /// Raw bytes fed through Append() (the step's output before masking and capping).
  uint64_t raw_bytes() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace kod::runner
