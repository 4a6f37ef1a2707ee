// Run lines made safe for the shell: `{branch}`, `{repo}` and `{env.NAME}` become references to
// environment variables, never the values themselves (docs/workflows.md#interpolation).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kod::workflow {

/// One `run` line ready for `/bin/sh`: `script` is the line with each placeholder replaced by a
/// fixed reference to a variable of `vars` (KOD_I_1, KOD_I_2, …, one per distinct placeholder),
/// and `vars` holds the values. The caller puts `vars` into the shell's environment (after every
/// other variable, so nothing overrides them).
struct ShellLine {
  std::string script;
  std::vector<std::pair<std::string, std::string>> vars;
};

/// Safe by construction: the script never contains an interpolated value, only `${KOD_I_n}`
/// references, and the shell never parses the result of an expansion as code, so a branch named
/// `q'$(echo${IFS}PWNED)'` runs nothing whatever the quoting around the placeholder.
///
/// A small lexer follows the shell's quoting so the reference expands to exactly the value:
///  - unquoted (also inside `$(…)` and backquotes): `"${KOD_I_n}"` (one word, no globbing);
///  - inside double quotes or `$((…))`: `${KOD_I_n}`;
///  - inside single quotes: `'"${KOD_I_n}"'` (close the quote, expand, reopen);
///  - in a comment (`#` at the start of an unquoted word): left as written.
/// A lexer mistake can only give wrong text, never execution. Placeholders follow Interpolate:
/// `{branch}`, `{repo}`, `{env.NAME}` with NAME a key of `env`; anything else stays as written.
ShellLine InterpolateForShell(std::string_view line, std::string_view branch, std::string_view repo,
                              const std::map<std::string, std::string>& env);

}  // namespace kod::workflow
