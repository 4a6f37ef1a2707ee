#include "lib/workflow/dialect.h"

#include <climits>
#include <cstdio>

namespace kod::workflow {
namespace {

// Step names are stored with the run (workflow_steps.name is VARCHAR(255)).
constexpr size_t kMaxStepName = 255;


constexpr std::string_view kBlanks = " \t";
constexpr std::string_view kStepKeys =
    "step keys are run, if, working_dir and continue_on_error";

std::string_view TrimLeft(std::string_view s) {
  size_t b = s.find_first_not_of(kBlanks);
  return b == std::string_view::npos ? std::string_view() : s.substr(b);
}

std::string_view Trim(std::string_view s) {
  s = TrimLeft(s);
  return s.substr(0, s.find_last_not_of(kBlanks) + 1);  // npos + 1 == 0 for an empty s
}

bool IsIdentChar(char c, bool first) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (!first && c >= '0' && c <= '9');
}

bool IsIdent(std::string_view s) {
  if (s.empty() || !IsIdentChar(s[0], true)) return false;
  for (char c : s)
    if (!IsIdentChar(c, false)) return false;
  return true;
}

// Length of the identifier at the start of s (0 if none).
size_t IdentLength(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && IsIdentChar(s[n], n == 0)) ++n;
  return n;
}

// User text for an error message: quoted, control bytes escaped, cut at a UTF-8 boundary so a
// 1 MB line cannot make a 1 MB message.
std::string Show(std::string_view s) {
  constexpr size_t kMax = 80;
  bool cut = s.size() > kMax;
  if (cut) {
    size_t n = kMax;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n);
  }
  std::string out = "'";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + (cut ? "...'" : "'");
}

bool IsQuotedString(std::string_view v) {
  return v.size() >= 2 && (v[0] == '"' || v[0] == '\'') && v.back() == v[0] &&
         v.substr(1, v.size() - 2).find(v[0]) == std::string_view::npos;
}

std::string_view Unquote(std::string_view v) {
  return IsQuotedString(v) ? v.substr(1, v.size() - 2) : v;
}

// Cuts an inline comment: `#` after a space or tab, outside '...' and "..." (docs/workflows.md).
std::string_view StripInlineComment(std::string_view v) {
  char quote = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#' && i > 0 && (v[i - 1] == ' ' || v[i - 1] == '\t')) {
      return v.substr(0, i);
    }
  }
  return v;
}

// YAML block scalar headers: `|`, `>`, with optional chomping (+/-) and indentation digit.
bool IsYamlBlock(std::string_view v) {
  if (v.empty() || v.size() > 3 || (v[0] != '|' && v[0] != '>')) return false;
  return v.substr(1).find_first_not_of("+-123456789") == std::string_view::npos;
}

// The parse of one value: either the value or a problem (without the "file:line: " prefix).
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string problem;
};

Parsed<int> ParseTimeout(std::string_view v) {
  std::string bad = "timeout must be a whole number of seconds >= 1, got " + Show(v);
  if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos) return {{}, bad};
  long long n = 0;
  for (char c : v) {
    n = n * 10 + (c - '0');
    if (n > INT_MAX) return {{}, "timeout " + Show(v) + " is too large"};
  }
  if (n < 1) return {{}, bad};
  return {static_cast<int>(n), {}};
}

Parsed<Condition> ParseCondition(std::string_view v) {
  std::string bad = "invalid condition " + Show(v) +
                    ": expected branch == 'x', branch != 'x', env.NAME == 'x' or env.NAME != 'x'";
  Condition c;
  std::string_view rest;
  if (v.starts_with("branch")) {
    rest = v.substr(6);
  } else if (v.starts_with("env.") && IdentLength(v.substr(4)) > 0) {
    c.subject = Condition::Subject::Env;
    c.env_name = v.substr(4, IdentLength(v.substr(4)));
    rest = v.substr(4 + c.env_name.size());
  } else {
    return {{}, bad};
  }
  rest = TrimLeft(rest);
  if (rest.starts_with("==")) c.equals = true;
  else if (rest.starts_with("!=")) c.equals = false;
  else return {{}, bad};
  rest = TrimLeft(rest.substr(2));
  if (!IsQuotedString(rest)) return {{}, bad + " (the value must be quoted)"};
  c.value = Unquote(rest);
  return {std::move(c), {}};
}

Parsed<std::string> NormalizeWorkingDir(std::string_view v) {
  if (v.empty()) return {{}, "working_dir is empty (use '.' for the checkout root)"};
  if (v[0] == '/') return {{}, "working_dir must be relative to the checkout, got " + Show(v)};
  std::vector<std::string_view> parts;
  while (!v.empty()) {
    size_t slash = v.find('/');
    std::string_view part = v.substr(0, slash);
    v = slash == std::string_view::npos ? std::string_view() : v.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      parts.push_back(part);
    } else if (parts.empty()) {
      return {{}, "working_dir leaves the checkout"};
    } else {
      parts.pop_back();
    }
  }
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return {std::move(out), {}};
}

class Parser {
 public:
  explicit Parser(std::string_view file) { wf_.file = file; }

  Result<Workflow> Run(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      ++line_no_;
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (line.find('\0') != std::string_view::npos) return Fail(line_no_, "NUL byte in line");
      if (!Line(line)) return Fail(error_line_, problem_);
    }
    if (!EndBlock() || !EndStep()) return Fail(error_line_, problem_);
    if (wf_.steps.empty()) return Fail(1, "no steps: a workflow needs at least one [step:<name>]");
    return std::move(wf_);
  }

 private:
  Status Fail(int line, const std::string& problem) const {
    return InvalidArgument(wf_.file + ":" + std::to_string(line) + ": " + problem);
  }
  bool Error(int line, std::string problem) {
    error_line_ = line;
    problem_ = std::move(problem);
    return false;
  }

  // Handles one line, its trailing CR already removed. False with error_line_/problem_ set on error.
  bool Line(std::string_view line) {
    size_t indent = line.find_first_not_of(kBlanks);  // a tab counts as one column (docs/workflows.md#the-dialect)
    if (indent == std::string_view::npos) return true;
    std::string_view content = Trim(line);
    if (in_block_) {
      if (content[0] == '#') return true;
      if (indent > block_indent_) {
        step_->run.emplace_back(content);
        return true;
      }
      if (!EndBlock()) return false;
    }
    if (content[0] == '#') return true;
    if (content[0] == '[') return Header(content);
    return KeyValue(content, indent);
  }

  bool Header(std::string_view content) {
    if (!content.starts_with("[step:") || !content.ends_with(']'))
      return Error(line_no_, "expected a step header [step:<name>], got " + Show(content));
    std::string_view name = Trim(content.substr(6, content.size() - 7));
    if (name.empty()) return Error(line_no_, "empty step name in " + Show(content));
    if (name.size() > kMaxStepName)
      return Error(line_no_, "step name longer than " + std::to_string(kMaxStepName) + " bytes");
    if (!EndStep()) return false;
    step_.emplace();
    step_->name = name;
    step_->line = line_no_;
    seen_.clear();
    return true;
  }

  bool KeyValue(std::string_view content, size_t indent) {
    size_t colon = content.find(':');
    std::string_view key = colon == std::string_view::npos ? "" : Trim(content.substr(0, colon));
    // Any one-word key is a key (so `working-dir:` is reported as an unknown key, not a stray line).
    if (key.empty() || key.find_first_of(kBlanks) != std::string_view::npos) {
      std::string p = "expected 'key: value', [step:<name>] or a # comment, got " + Show(content);
      if (indent > 0)
        p += " (indented lines continue a value only after a key with an empty value, e.g. 'run:')";
      return Error(line_no_, p);
    }
    bool is_run = key == "run";
    bool step_key = is_run || key == "if" || key == "working_dir" || key == "continue_on_error";
    if (!step_ && key != "timeout") {
      return Error(line_no_, step_key ? "'" + std::string(key) + "' must be inside a [step:<name>] section"
                                      : "unknown key " + Show(key) +
                                            " before the first [step:<name>] (only 'timeout' is allowed there)");
    }
    if (step_ && !step_key) {
      std::string why = key == "timeout" ? "; timeout goes before the first [step:<name>])" : ")";
      return Error(line_no_, "unknown key " + Show(key) + " in step " + Show(step_->name) + " (" +
                                 std::string(kStepKeys) + why);
    }
    if (auto [it, fresh] = seen_.emplace(key, line_no_); !fresh)
      return Error(line_no_, "duplicate key '" + it->first + "' (first set on line " +
                                 std::to_string(it->second) + ")");

    std::string_view raw = content.substr(colon + 1);
    std::string_view stripped = Trim(StripInlineComment(raw));
    if (IsYamlBlock(stripped)) {
      if (is_run)
        return Error(line_no_, "YAML block 'run: " + std::string(stripped) +
                                   "' is not supported: put each command on its own indented line after 'run:'");
      return Error(line_no_, "YAML block values are not supported: put the value on the same line as '" +
                                 std::string(key) + ":'");
    }
    // run lines go to the shell as written; `run:  # the commands below` still opens a block.
    std::string_view value = is_run && !stripped.empty() ? Trim(raw) : stripped;
    if (value.empty()) {
      if (!is_run) return Error(line_no_, "'" + std::string(key) + "' needs a value on the same line");
      in_block_ = true;
      block_indent_ = indent;
      block_line_ = line_no_;
      return true;
    }
    return Apply(key, Unquote(value));
  }

  bool Apply(std::string_view key, std::string_view v) {
    if (key == "timeout") {
      auto t = ParseTimeout(v);
      if (!t.value) return Error(line_no_, t.problem);
      wf_.timeout_seconds = *t.value;
    } else if (key == "continue_on_error") {
      if (v != "true" && v != "false")
        return Error(line_no_, "continue_on_error must be true or false, got " + Show(v));
      step_->continue_on_error = v == "true";
    } else if (key == "if") {
      auto c = ParseCondition(v);
      if (!c.value) return Error(line_no_, c.problem);
      step_->condition = std::move(c.value);
    } else if (key == "working_dir") {
      auto d = NormalizeWorkingDir(v);
      if (!d.value) return Error(line_no_, d.problem);
      step_->working_dir = std::move(*d.value);
    } else {  // run
      if (v.empty()) return Error(line_no_, "run: empty command");
      step_->run.emplace_back(v);
    }
    return true;
  }

  bool EndBlock() {
    if (!in_block_) return true;
    in_block_ = false;
    if (step_->run.empty())
      return Error(block_line_, "'run:' has no commands: put them after 'run:' or on indented lines below it");
    return true;
  }

  bool EndStep() {
    if (!step_) return true;
    if (step_->run.empty())
      return Error(step_->line, "step " + Show(step_->name) + " has no 'run' (every step needs one)");
    wf_.steps.push_back(std::move(*step_));
    step_.reset();
    return true;
  }

  Workflow wf_;
  std::optional<Step> step_;            // the open section; nullopt before the first header
  std::map<std::string, int, std::less<>> seen_;  // keys of the open section -> line
  int line_no_ = 0;
  bool in_block_ = false;  // inside a multi-line `run:` value
  size_t block_indent_ = 0;
  int block_line_ = 0;
  int error_line_ = 0;
  std::string problem_;
};

}  // namespace

Result<Workflow> Parse(std::string_view file_name, std::string_view text) {
  return Parser(file_name).Run(text);
}

bool Evaluate(const Condition& c, std::string_view branch,
              const std::map<std::string, std::string>& env) {
  std::string_view subject = branch;
  if (c.subject == Condition::Subject::Env) {
    auto it = env.find(c.env_name);
    subject = it == env.end() ? std::string_view() : std::string_view(it->second);
  }
  return (subject == c.value) == c.equals;
}

std::string Interpolate(std::string_view text, std::string_view branch, std::string_view repo,
                        const std::map<std::string, std::string>& env) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find('{', i);
    size_t close = open == std::string_view::npos ? open : text.find('}', open + 1);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    std::string_view inner = text.substr(open + 1, close - open - 1);
    // `{{branch}`: restart at the last `{` so the scan stays linear and the inner match is found.
    if (size_t last = inner.rfind('{'); last != std::string_view::npos) {
      out.append(text.substr(open, last + 1));
      i = open + 1 + last;
      continue;
    }
    std::optional<std::string_view> value;
    if (inner == "branch") {
      value = branch;
    } else if (inner == "repo") {
      value = repo;
    } else if (inner.starts_with("env.") && IsIdent(inner.substr(4))) {
      if (auto it = env.find(std::string(inner.substr(4))); it != env.end()) value = it->second;
    }
    out.append(value ? *value : text.substr(open, close - open + 1));
    i = close + 1;
  }
  if (i < text.size()) out.append(text.substr(i));
  return out;
}

std::optional<std::pair<std::string, std::string>> ParseEnvAssignment(std::string_view run_line) {
  std::string_view s = Trim(run_line);
  if (!s.starts_with("env.")) return std::nullopt;
  size_t n = IdentLength(s.substr(4));
  if (n == 0) return std::nullopt;
  std::string name(s.substr(4, n));
  std::string_view rest = TrimLeft(s.substr(4 + n));
  if (!rest.starts_with('=') || rest.starts_with("==")) return std::nullopt;
  return std::pair{std::move(name), std::string(Unquote(Trim(rest.substr(1))))};
}

Result<std::string> NormalizeWorkflowPath(std::string_view entry) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("Invalid workflow file " + Show(entry) + ": " + std::string(why));
  };
  if (entry.empty()) return bad("empty path");
  if (entry.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  if (entry[0] == '/') return bad("absolute paths are not allowed; name a file in .kod/workflows/");
  std::vector<std::string_view> parts;
  for (std::string_view rest = entry;;) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..")
      return bad("empty, '.' and '..' path segments are not allowed");
    parts.push_back(part);
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  if (parts.size() == 3 && parts[0] == ".kod" && parts[1] == "workflows")
    parts.erase(parts.begin(), parts.begin() + 2);
  if (parts.size() != 1)
    return bad("must name a file directly in .kod/workflows/ "
               "(e.g. \"build.toml\" or \".kod/workflows/build.toml\")");
  if (parts[0].size() <= 5 || !parts[0].ends_with(".toml")) return bad("workflow files end in .toml");
  return std::string(parts[0]);
}

}  // namespace kod::workflow
