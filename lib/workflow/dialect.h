// Kod's workflow dialect (.kod/workflows/*.toml, not TOML): parsing, conditions, interpolation.
//
// Rules come from docs/workflows.md. Pure functions, no I/O, safe on any bytes and from any
// thread. Choices the spec leaves open (each pinned by a test in tests/unit/workflow/):
//  - Every step needs `run`; a step without it is an error at its `[step:...]` line.
//  - A file with no step is an error at line 1.
//  - Only `run` takes a multi-line value; `timeout:`, `if:` etc. with an empty value are errors,
//    as is `run:` followed by no command line (reported at the `run:` line).
//  - `run:  # comment` (nothing but a comment) opens a multi-line block like `run:`.
//  - Step names are trimmed; duplicate step names are allowed. Keys may be indented; a key is one
//    word before the first `:` (the space after `:` is optional), so `working-dir:` is reported
//    as an unknown key rather than a stray line.
//  - `[step:<name>]` must be the whole line (no trailing comment).
//  - A line holding a NUL byte is an error (a shell command cannot carry one).
//  - Multi-line `run` lines keep their bytes except the stripped indentation and trailing
//    blanks; single-line values are trimmed of spaces and tabs.
//  - Quotes have no escapes: a value is "one quoted string" when it starts and ends with the same
//    quote character and holds no other one.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/core/limits.h"
#include "lib/core/status.h"

namespace kod::workflow {

/// An `if:` condition: `branch == 'x'`, `branch != 'x'`, `env.NAME == 'x'` or `env.NAME != 'x'`
/// (docs/workflows.md). `env_name` is set only for Subject::Env; `equals` is false for `!=`.
struct Condition {
  enum class Subject { Branch, Env };
  Subject subject = Subject::Branch;
  std::string env_name;
  bool equals = true;
  std::string value;
};

/// One `[step:<name>]` section. `line` is the 1-based line of its header. `run` holds one entry per
/// shell line, never empty, uninterpolated (the runner calls Interpolate / ParseEnvAssignment on
/// each). `working_dir` is relative to the checkout, lexically normalized ("a/b", never "./a" or
/// "a/"); "" is the checkout root.
struct Step {
  std::string name;
  int line = 0;
  std::vector<std::string> run;
  std::optional<Condition> condition;
  std::string working_dir;
  bool continue_on_error = false;
};

/// A parsed workflow file. `file` is the name given to Parse; `timeout_seconds` bounds the whole
/// file (docs/workflows.md, default 300); `steps` is never empty and in file order.
struct Workflow {
  std::string file;
  int timeout_seconds = limits::kWorkflowTimeoutDefaultS;
  std::vector<Step> steps;
};

/// Parses one workflow file. `file_name` is used only in messages. CRLF and LF parse alike; a
/// leading UTF-8 BOM is ignored. Stops at the first problem and returns
/// InvalidArgument("<file_name>:<line>: <problem>") with the 1-based line of the offending line
/// (docs/workflows.md: unknown keys, duplicate keys, bad values, bad conditions, `run: |`, stray
/// lines, empty step names, working_dir leaving the checkout). Linear in the input size.
Result<Workflow> Parse(std::string_view file_name, std::string_view text);

/// True when the step guarded by `c` should run. `env` holds the run's variables (secrets and
/// `env.X = ...` assignments); a variable that is not set compares as the empty string.
bool Evaluate(const Condition& c, std::string_view branch,
              const std::map<std::string, std::string>& env);

/// Replaces `{branch}`, `{repo}` and `{env.NAME}` (NAME a key of `env`) in one pass; inserted
/// values are not scanned again, so a branch named `{env.X}` stays literal. Anything else in
/// braces, including `{env.NAME}` for an unset NAME, stays as written (docs/workflows.md).
/// Plain text substitution, for `env.NAME = value` lines: a run line goes to the shell through
/// InterpolateForShell (lib/workflow/shell_line.h), which never pastes a value into shell code.
std::string Interpolate(std::string_view text, std::string_view branch, std::string_view repo,
                        const std::map<std::string, std::string>& env);

/// Recognizes a run line `env.NAME = "value"`, `env.NAME = 'value'` or `env.NAME = bare value`
/// (docs/workflows.md), spaces around `=` optional, NAME `[A-Za-z_][A-Za-z0-9_]*`. Returns
/// {NAME, value} with one quoted string unquoted and a bare value trimmed; nullopt for any other
/// line (including `env.X == 'y'`), which then runs in the shell. The value is not interpolated:
/// call Interpolate on it afterwards, not on the line before, so a quote inside {branch} cannot
/// change how the line splits.
std::optional<std::pair<std::string, std::string>> ParseEnvAssignment(std::string_view run_line);

/// Maps an entry of the `files` array of POST /repos/:name/workflows (docs/api.md#workflow-runs) to a file
/// name inside .kod/workflows/: "build.toml" and ".kod/workflows/build.toml" both give
/// "build.toml". Returns InvalidArgument naming the entry when it is empty, holds a NUL byte, is
/// absolute, has an empty, `.` or `..` segment, names a subdirectory or anything outside
/// .kod/workflows/, or does not end in `.toml`. Existence is the caller's check.
Result<std::string> NormalizeWorkflowPath(std::string_view entry);

}  // namespace kod::workflow
