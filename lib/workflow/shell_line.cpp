// Run lines made safe for the shell (see shell_line.h).
#include "lib/workflow/shell_line.h"

#include <algorithm>
#include <optional>

namespace kod::workflow {
namespace {

bool IsIdentChar(char c, bool first) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (!first && c >= '0' && c <= '9');
}

bool IsIdent(std::string_view s) {
  if (s.empty() || !IsIdentChar(s[0], true)) return false;
  for (char c : s)
    if (!IsIdentChar(c, false)) return false;
  return true;
}

// The quoting context a placeholder sits in. Plain also covers `$(…)` and backquotes (a new
// unquoted context of their own); Arith is `$((…))`, where no word splitting happens.
enum class Ctx { Plain, Single, Double, Backtick, Subst, Arith };

struct Frame {
  Ctx ctx;
  int depth = 0;  // open parentheses of Subst/Arith
};

class Lexer {
 public:
  Lexer(std::string_view branch, std::string_view repo, const std::map<std::string, std::string>& env)
      : branch_(branch), repo_(repo), env_(env) {}

  ShellLine Run(std::string_view in) {
    stack_.push_back({Ctx::Plain});
    size_t i = 0;
    while (i < in.size()) i = Step(in, i);
    return std::move(out_);
  }

 private:
  Ctx top() const { return stack_.back().ctx; }
  bool Unquoted() const { return top() == Ctx::Plain || top() == Ctx::Subst || top() == Ctx::Backtick; }

  // Handles the byte at `i` (and what it introduces); returns the next index.
  size_t Step(std::string_view in, size_t i) {
    const char c = in[i];
    if (c == '{') return Placeholder(in, i);
    if (top() == Ctx::Single) {
      if (c == '\'') stack_.pop_back();
      return Copy(in, i, 1);
    }
    if (c == '\\') return Copy(in, i, 2);  // the escaped byte is taken as written
    if (c == '#' && Unquoted() && WordStart()) return Copy(in, i, in.size() - i);  // a comment
    if (c == '$' && in.substr(i, 3) == "$((") {
      stack_.push_back({Ctx::Arith, 2});
      return Copy(in, i, 3);
    }
    if (c == '$' && in.substr(i, 2) == "$(") {
      stack_.push_back({Ctx::Subst, 1});
      return Copy(in, i, 2);
    }
    if (top() == Ctx::Subst || top() == Ctx::Arith) {
      if (c == '(') ++stack_.back().depth;
      if (c == ')' && --stack_.back().depth == 0) {
        stack_.pop_back();
        return Copy(in, i, 1);
      }
    }
    if (c == '`') {
      if (top() == Ctx::Backtick)
        stack_.pop_back();
      else
        stack_.push_back({Ctx::Backtick});
    } else if (c == '"') {
      if (top() == Ctx::Double)
        stack_.pop_back();
      else if (top() != Ctx::Arith)
        stack_.push_back({Ctx::Double});
    } else if (c == '\'' && Unquoted()) {
      stack_.push_back({Ctx::Single});
    }
    return Copy(in, i, 1);
  }

  bool WordStart() const {
    if (out_.script.empty()) return true;
    const char p = out_.script.back();
    return p == ' ' || p == '\t' || p == ';' || p == '&' || p == '|' || p == '(' || p == ')' || p == '<' ||
           p == '>' || p == '`';
  }

  size_t Copy(std::string_view in, size_t i, size_t n) {
    n = std::min(n, in.size() - i);
    out_.script.append(in.substr(i, n));
    return i + n;
  }

  // At a `{`: a known placeholder becomes a reference fitting the context; anything else is
  // copied as written. The look-ahead stops at the first byte that cannot be in a placeholder,
  // so the whole pass stays linear.
  size_t Placeholder(std::string_view in, size_t i) {
    size_t j = i + 1;
    while (j < in.size() && (IsIdentChar(in[j], false) || in[j] == '.')) ++j;
    if (j >= in.size() || in[j] != '}') return Copy(in, i, 1);
    std::optional<std::string_view> value = Lookup(in.substr(i + 1, j - i - 1));
    if (!value) return Copy(in, i, 1);
    const std::string ref = "${" + Var(in.substr(i + 1, j - i - 1), *value) + "}";
    switch (top()) {
      case Ctx::Single: out_.script += "'\"" + ref + "\"'"; break;
      case Ctx::Double:
      case Ctx::Arith: out_.script += ref; break;
      default: out_.script += "\"" + ref + "\""; break;
    }
    return j + 1;
  }

  std::optional<std::string_view> Lookup(std::string_view name) const {
    if (name == "branch") return branch_;
    if (name == "repo") return repo_;
    if (name.starts_with("env.") && IsIdent(name.substr(4))) {
      auto it = env_.find(std::string(name.substr(4)));
      if (it != env_.end()) return std::string_view(it->second);
    }
    return std::nullopt;
  }

  // The variable holding placeholder `name` (one per distinct placeholder of the line).
  std::string Var(std::string_view name, std::string_view value) {
    auto it = names_.find(std::string(name));
    if (it != names_.end()) return it->second;
    std::string var = "KOD_I_" + std::to_string(out_.vars.size() + 1);
    out_.vars.emplace_back(var, std::string(value));
    names_.emplace(std::string(name), var);
    return var;
  }

  std::string_view branch_, repo_;
  const std::map<std::string, std::string>& env_;
  std::vector<Frame> stack_;
  std::map<std::string, std::string> names_;
  ShellLine out_;
};

}  // namespace

ShellLine InterpolateForShell(std::string_view line, std::string_view branch, std::string_view repo,
                              const std::map<std::string, std::string>& env) {
  return Lexer(branch, repo, env).Run(line);
}

}  // namespace kod::workflow
