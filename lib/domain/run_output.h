// How a run's output is laid out as one log and bounded in JSON answers (docs/workflows.md#logs).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/domain/run.h"

namespace kod::domain {

/// One step as the run's log sees it.
struct LogStep {
  int idx = 0;                     // the step's index in the run
  std::string name;
  uint64_t output_bytes = 0;       // its stored output so far
  bool ends_with_newline = false;  // that output's last byte is '\n'
};

/// A piece of the run's log: the line introducing a step (`header`, with its `text`), or a step's
/// stored output (`idx`, whole).
struct LogPiece {
  uint64_t start = 0;  // offset in the log
  uint64_t length = 0;
  int idx = 0;
  bool header = false;
  std::string text;  // header only: "::step <name>\n", after a "\n" when the previous step's
                     // output did not end with one
};

/// The log of a run: for each step in order, its header line then its output. Append-only as a
/// run goes on (outputs grow only by appends, steps only at the end, and a header depends only on
/// the steps before it), so offsets into it stay valid. Pieces of length 0 are left out.
std::vector<LogPiece> LayOutLog(const std::vector<LogStep>& steps);

/// The size of the log LayOutLog describes.
uint64_t LogSize(const std::vector<LogPiece>& pieces);

/// The largest cap c with sum(min(size_i, c)) <= budget; the largest size when all fit.
uint64_t CapForTotal(const std::vector<uint64_t>& sizes, uint64_t budget);

/// Bytes `text` takes inside a JSON string as Kod writes it: `"`, `\` and \b \f \n \r \t take
/// two, other control bytes six (\u00XX), everything else (UTF-8 included) one per byte.
uint64_t JsonEscapedSize(std::string_view text);

/// Cuts the outputs of `steps`, keeping their ends and never splitting a UTF-8 sequence, until
/// their JSON-escaped sizes add up to at most `budget`; a cut step gets output_truncated.
void BoundOutputsForJson(std::vector<StepResult>& steps, uint64_t budget);

/// Keeps the last `tail` bytes of each output (output_truncated where cut).
void KeepOutputTails(std::vector<StepResult>& steps, uint64_t tail);

}  // namespace kod::domain
