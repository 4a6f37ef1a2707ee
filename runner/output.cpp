// Step output capture: secret masking, UTF-8 repair and the 1 MiB head+tail cap (docs/workflows.md).
#include "runner/output.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <utility>

#include "runner/secret_forms.h"

namespace kod::runner {
namespace {

constexpr std::size_t kSlice = 64 * 1024;  // Append() works in slices this size: bounded scratch
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kMask = "***";

bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Streaming leftmost-longest replacement of a fixed set of byte strings by "***".
//
// An Aho-Corasick automaton reports every pattern occurrence at its end position in O(1)
// amortised per byte plus one step per reported match, whatever the pattern lengths (a naive
// memcmp at every position is O(n * m): a 64 KiB secret against adversarial output would stall the
// read loop). best_[i] records the longest match starting at pending_[i]. A position is decided
// only when every match that could start there has been seen, i.e. when at least max_len_ bytes
// from it are known; Flush() decides the rest at the end of the stream.
class Masker {
 public:
  explicit Masker(const std::vector<std::string>& patterns) {
    nodes_.emplace_back();  // root
    root_next_.fill(0);
    for (const std::string& p : patterns) Insert(p);
    BuildLinks();
  }

  bool empty() const { return max_len_ == 0; }

  void Feed(std::string_view in, std::string* out) {
    if (empty()) {
      out->append(in);
      return;
    }
    for (char ch : in) {
      auto c = static_cast<unsigned char>(ch);
      pending_.push_back(ch);
      best_.push_back(0);
      state_ = Next(state_, c);
      // Walk the terminal nodes among the state and its suffixes: every pattern ending here.
      int32_t n = nodes_[state_].terminal ? state_ : nodes_[state_].dict;
      for (; n > 0; n = nodes_[n].dict) {
        std::size_t len = nodes_[n].depth;
        if (len > pending_.size()) continue;  // starts in bytes already decided
        uint32_t& best = best_[pending_.size() - len];
        best = std::max<uint32_t>(best, static_cast<uint32_t>(len));
      }
    }
    Emit(/*final=*/false, out);
  }

  void Flush(std::string* out) {
    if (!empty()) Emit(/*final=*/true, out);
  }

 private:
  struct Node {
    int32_t first_child = -1;
    int32_t next_sibling = -1;
    int32_t fail = 0;
    int32_t dict = 0;  // nearest proper suffix that is a terminal, 0 (root) if none
    uint32_t depth = 0;
    bool terminal = false;
    unsigned char byte = 0;
  };

  int32_t Child(int32_t node, unsigned char c) const {
    if (node == 0) return root_next_[c];
    for (int32_t k = nodes_[node].first_child; k >= 0; k = nodes_[k].next_sibling)
      if (nodes_[k].byte == c) return k;
    return -1;
  }

  void Insert(const std::string& p) {
    int32_t node = 0;
    for (char ch : p) {
      auto c = static_cast<unsigned char>(ch);
      int32_t next = Child(node, c);
      if (next <= 0) {
        next = static_cast<int32_t>(nodes_.size());
        Node n;
        n.byte = c;
        n.depth = nodes_[node].depth + 1;
        n.next_sibling = nodes_[node].first_child;
        nodes_.push_back(n);
        nodes_[node].first_child = next;
        if (node == 0) root_next_[c] = next;
      }
      node = next;
    }
    nodes_[node].terminal = true;
    max_len_ = std::max(max_len_, p.size());
  }

  void BuildLinks() {
    std::deque<int32_t> queue;
    for (int32_t k = nodes_[0].first_child; k >= 0; k = nodes_[k].next_sibling) {
      nodes_[k].fail = 0;
      nodes_[k].dict = 0;
      queue.push_back(k);
    }
    while (!queue.empty()) {
      int32_t u = queue.front();
      queue.pop_front();
      for (int32_t v = nodes_[u].first_child; v >= 0; v = nodes_[v].next_sibling) {
        int32_t f = nodes_[u].fail;
        int32_t target;
        for (;;) {
          target = Child(f, nodes_[v].byte);
          if (target > 0 || f == 0) break;
          f = nodes_[f].fail;
        }
        if (target < 0) target = 0;
        nodes_[v].fail = target;
        nodes_[v].dict = nodes_[target].terminal ? target : nodes_[target].dict;
        queue.push_back(v);
      }
    }
  }

  int32_t Next(int32_t state, unsigned char c) const {
    for (;;) {
      int32_t next = Child(state, c);
      if (next > 0) return next;
      if (state == 0) return 0;
      state = nodes_[state].fail;
    }
  }

  // Writes out every position that is decided: at the end of the stream all of them; before,
  // those before the longest suffix of the input that is still a prefix of some pattern (the
  // automaton's depth). No match can start earlier and still be incomplete, so output that
  // cannot begin a secret flows at once instead of waiting for max_len_ more bytes.
  void Emit(bool final, std::string* out) {
    std::size_t i = 0;
    const std::size_t n = pending_.size();
    const std::size_t open = final ? 0 : std::min<std::size_t>(n, nodes_[state_].depth);
    while (i < n - open) {
      if (best_[i] > 0) {
        out->append(kMask);
        i += best_[i];
      } else {
        out->push_back(pending_[i]);
        ++i;
      }
    }
    pending_.erase(0, i);
    best_.erase(best_.begin(), best_.begin() + static_cast<std::ptrdiff_t>(i));
    if (final) state_ = 0;
  }

  std::vector<Node> nodes_;
  std::array<int32_t, 256> root_next_{};
  std::size_t max_len_ = 0;
  int32_t state_ = 0;
  std::string pending_;         // consumed, not yet decided
  std::vector<uint32_t> best_;  // parallel to pending_
};

// Streaming UTF-8 validation; ill-formed subsequences become U+FFFD (maximal subparts, Unicode
// ch. 3 "U+FFFD substitution of maximal subparts").
class Utf8Repair {
 public:
  void Feed(std::string_view in, std::string* out) {
    std::size_t i = 0;
    while (i < in.size()) {
      auto b = static_cast<unsigned char>(in[i]);
      if (need_ == 0) {
        if (b < 0x80) {  // ASCII run: copy in bulk
          std::size_t j = i + 1;
          while (j < in.size() && static_cast<unsigned char>(in[j]) < 0x80) ++j;
          out->append(in.substr(i, j - i));
          i = j;
          continue;
        }
        Start(b, out);
        ++i;
        continue;
      }
      if (b >= lo_ && b <= hi_) {
        seq_[len_++] = static_cast<char>(b);
        lo_ = 0x80;
        hi_ = 0xBF;
        if (--need_ == 0) {
          out->append(seq_.data(), len_);
          len_ = 0;
        }
        ++i;
      } else {
        out->append(kReplacement);  // the partial sequence; b is looked at again as a new start
        need_ = 0;
        len_ = 0;
      }
    }
  }

  void Flush(std::string* out) {
    if (need_ > 0) out->append(kReplacement);
    need_ = 0;
    len_ = 0;
  }

 private:
  void Start(unsigned char b, std::string* out) {
    lo_ = 0x80;
    hi_ = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need_ = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need_ = 2;
      if (b == 0xE0) lo_ = 0xA0;  // no overlong forms
      if (b == 0xED) hi_ = 0x9F;  // no surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      need_ = 3;
      if (b == 0xF0) lo_ = 0x90;  // no overlong forms
      if (b == 0xF4) hi_ = 0x8F;  // nothing above U+10FFFF
    } else {
      out->append(kReplacement);  // C0, C1, F5..FF, stray continuation byte
      return;
    }
    seq_[0] = static_cast<char>(b);
    len_ = 1;
  }

  int need_ = 0;
  std::size_t len_ = 0;
  std::array<char, 4> seq_{};
  unsigned char lo_ = 0x80, hi_ = 0xBF;
};

// Keeps the first head_cap and the last tail_cap bytes of valid UTF-8 text.
class HeadTail {
 public:
  HeadTail(std::size_t head_cap, std::size_t tail_cap) : head_cap_(head_cap), tail_cap_(tail_cap) {}

  // `s` is whole UTF-8 sequences (the repair stage never emits a partial one).
  void Add(std::string_view s) {
    total_ += s.size();
    if (!head_full_) {
      std::size_t room = head_cap_ - head_.size();
      if (s.size() <= room) {
        head_.append(s);
        return;
      }
      std::size_t cut = room;  // s[cut] exists; back up so the head ends on a boundary
      while (cut > 0 && IsContinuation(static_cast<unsigned char>(s[cut]))) --cut;
      head_.append(s.substr(0, cut));
      s.remove_prefix(cut);
      head_full_ = true;
    }
    tail_.append(s);
    // Trimming at 2x keeps the cost amortised O(1) per byte and the memory bounded.
    if (tail_.size() > 2 * tail_cap_) Trim(tail_.size() - tail_cap_);
  }

  std::string Finish() {
    if (tail_.size() > tail_cap_) Trim(tail_.size() - tail_cap_);
    if (dropped_ > 0) {
      // The tail must start on a sequence boundary: drop the continuation bytes of a cut one.
      std::size_t k = 0;
      while (k < tail_.size() && IsContinuation(static_cast<unsigned char>(tail_[k]))) ++k;
      Trim(k);
    }
    std::string out = std::move(head_);
    if (dropped_ > 0)
      out += "\n[... " + std::to_string(dropped_) + " bytes of output omitted ...]\n";
    out += tail_;
    head_.clear();
    tail_.clear();
    return out;
  }

  uint64_t total() const { return total_; }

  std::string TakeNew() {
    std::string out = head_.substr(taken_);
    taken_ = head_.size();
    return out;
  }
  uint64_t taken() const { return taken_; }

 private:
  void Trim(std::size_t n) {
    tail_.erase(0, n);
    dropped_ += n;
  }

  std::size_t head_cap_, tail_cap_;
  bool head_full_ = false;
  std::string head_, tail_;
  std::size_t taken_ = 0;  // bytes of head_ handed out by TakeNew()
  uint64_t dropped_ = 0;
  uint64_t total_ = 0;
};

}  // namespace

struct OutputCapture::State {
  State(const std::vector<std::string>& secrets, std::size_t limit)
      : masker(MaskPatterns(secrets)), store(limit / 2, limit - limit / 2) {}

  void Push(std::string_view in) {
    masked.clear();
    repaired.clear();
    masker.Feed(in, &masked);
    repair.Feed(masked, &repaired);
    store.Add(repaired);
  }

  Masker masker;
  Utf8Repair repair;
  HeadTail store;
  std::string masked, repaired;  // scratch, reused between slices
  bool finished = false;
  uint64_t raw = 0;
};

OutputCapture::OutputCapture(const std::vector<std::string>& secrets, std::size_t limit_bytes)
    : s_(std::make_unique<State>(secrets, std::max<std::size_t>(limit_bytes, 2))) {}
OutputCapture::~OutputCapture() = default;
OutputCapture::OutputCapture(OutputCapture&&) noexcept = default;
OutputCapture& OutputCapture::operator=(OutputCapture&&) noexcept = default;

void OutputCapture::Append(std::string_view bytes) {
  if (s_->finished) return;
  s_->raw += bytes.size();
  while (!bytes.empty()) {
    std::string_view slice = bytes.substr(0, kSlice);
    bytes.remove_prefix(slice.size());
    s_->Push(slice);
  }
}

std::string OutputCapture::Finish() {
  if (s_->finished) return {};
  s_->finished = true;
  s_->masked.clear();
  s_->repaired.clear();
  s_->masker.Flush(&s_->masked);
  s_->repair.Feed(s_->masked, &s_->repaired);
  s_->repair.Flush(&s_->repaired);
  s_->store.Add(s_->repaired);
  std::string out = s_->store.Finish();
  s_->masked = std::string();
  s_->repaired = std::string();
  return out;
}

uint64_t OutputCapture::total_bytes() const { return s_->store.total(); }

std::string OutputCapture::TakeNew() { return s_->finished ? std::string() : s_->store.TakeNew(); }

uint64_t OutputCapture::taken_bytes() const { return s_->store.taken(); }

uint64_t OutputCapture::raw_bytes() const { return s_->raw; }

}  // namespace kod::runner
