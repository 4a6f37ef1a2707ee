// How a run's output is laid out as one log and bounded in JSON answers (see run_output.h).
#include "lib/domain/run_output.h"

#include <algorithm>

namespace kod::domain {
namespace {

uint64_t EscapedByteSize(unsigned char c) {
  if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') return 2;
  return c < 0x20 ? 6 : 1;
}

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Keeps the longest end of `s` whose escaped size is at most `budget` (whole UTF-8 sequences).
void KeepEscapedTail(std::string& s, uint64_t budget) {
  uint64_t used = 0;
  size_t start = s.size();
  while (start > 0) {
    const uint64_t c = EscapedByteSize(static_cast<unsigned char>(s[start - 1]));
    if (used + c > budget) break;
    used += c;
    --start;
  }
  while (start < s.size() && IsContinuation(s[start])) ++start;
  s.erase(0, start);
}

}  // namespace

std::vector<LogPiece> LayOutLog(const std::vector<LogStep>& steps) {
  std::vector<LogPiece> out;
  uint64_t at = 0;
  bool line_open = false;  // the log so far does not end with a newline
  for (const LogStep& s : steps) {
    LogPiece h;
    h.start = at;
    h.idx = s.idx;
    h.header = true;
    h.text = (line_open ? "\n::step " : "::step ") + s.name + "\n";
    h.length = h.text.size();
    at += h.length;
    out.push_back(std::move(h));
    if (s.output_bytes > 0) {
      LogPiece o;
      o.start = at;
      o.idx = s.idx;
      o.length = s.output_bytes;
      at += o.length;
      out.push_back(std::move(o));
    }
    line_open = s.output_bytes > 0 && !s.ends_with_newline;
  }
  return out;
}

uint64_t LogSize(const std::vector<LogPiece>& pieces) {
  return pieces.empty() ? 0 : pieces.back().start + pieces.back().length;
}

uint64_t CapForTotal(const std::vector<uint64_t>& sizes, uint64_t budget) {
  std::vector<uint64_t> sorted = sizes;
  std::sort(sorted.begin(), sorted.end());
  uint64_t left = budget;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const uint64_t share = left / (sorted.size() - i);  // what each remaining item may have
    if (sorted[i] > share) return share;
    left -= sorted[i];
  }
  return sorted.empty() ? 0 : sorted.back();
}

uint64_t JsonEscapedSize(std::string_view text) {
  uint64_t n = 0;
  for (char c : text) n += EscapedByteSize(static_cast<unsigned char>(c));
  return n;
}

void BoundOutputsForJson(std::vector<StepResult>& steps, uint64_t budget) {
  std::vector<uint64_t> sizes;
  for (const StepResult& s : steps) sizes.push_back(JsonEscapedSize(s.output));
  const uint64_t cap = CapForTotal(sizes, budget);
  for (size_t i = 0; i < steps.size(); ++i) {
    if (sizes[i] <= cap) continue;
    KeepEscapedTail(steps[i].output, cap);
    steps[i].output_truncated = true;
  }
}

void KeepOutputTails(std::vector<StepResult>& steps, uint64_t tail) {
  for (StepResult& s : steps) {
    if (s.output.size() <= tail) continue;
    size_t start = s.output.size() - tail;
    while (start < s.output.size() && IsContinuation(s.output[start])) ++start;
    s.output.erase(0, start);
    s.output_truncated = true;
  }
}

}  // namespace kod::domain
