// Workflow dialect tests: one table row per rule of docs/workflows.md and per edge case.
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "lib/workflow/dialect.h"

using namespace std::string_literals;

namespace kod::workflow {
namespace {

// A readable, canonical rendering of a parse result; defaults (no if, root dir,
// continue_on_error false) are left out so each row states only what it pins.
std::string Dump(const Workflow& wf) {
  std::string out = "timeout=" + std::to_string(wf.timeout_seconds) + "\n";
  for (const Step& s : wf.steps) {
    out += "[" + s.name + "]@" + std::to_string(s.line) + "\n";
    for (const std::string& r : s.run) out += "run: " + r + "\n";
    if (s.condition) {
      const Condition& c = *s.condition;
      out += "if: " + (c.subject == Condition::Subject::Branch ? "branch"s : "env." + c.env_name) +
             (c.equals ? " == '" : " != '") + c.value + "'\n";
    }
    if (!s.working_dir.empty()) out += "working_dir: " + s.working_dir + "\n";
    if (s.continue_on_error) out += "continue_on_error\n";
  }
  return out;
}

std::string Printable(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == '\0') out += "\\0";
    else out += c;
  }
  return out;
}

// Every parse error must read "<file>:<line>: <problem>" (docs/workflows.md).
const std::regex kErrorFormat(R"(^a\.toml:([0-9]+): \S[^]*$)");

struct AcceptCase {
  const char* rule;
  std::string text;
  std::string dump;
};

const std::vector<AcceptCase> kAccept = {
    {"minimal step", "[step:build]\nrun: make\n", "timeout=300\n[build]@1\nrun: make\n"},
    {"no trailing newline", "[step:a]\nrun: x", "timeout=300\n[a]@1\nrun: x\n"},
    {"blank and # lines skipped, also indented",
     "# top\n\n   # indented\n[step:a]\n\t# tabbed\n\nrun: x\n", "timeout=300\n[a]@4\nrun: x\n"},
    {"step name may hold spaces", "[step:Build and test]\nrun: x\n",
     "timeout=300\n[Build and test]@1\nrun: x\n"},
    {"step name is trimmed", "[step:  a b  ]\nrun: x\n", "timeout=300\n[a b]@1\nrun: x\n"},
    {"indented header", "  [step:a]\nrun: x\n", "timeout=300\n[a]@1\nrun: x\n"},
    {"several steps keep order and header lines", "[step:a]\nrun: 1\n\n[step:b]\nrun: 2\n",
     "timeout=300\n[a]@1\nrun: 1\n[b]@4\nrun: 2\n"},
    {"duplicate step names are allowed", "[step:a]\nrun: 1\n[step:a]\nrun: 2\n",
     "timeout=300\n[a]@1\nrun: 1\n[a]@3\nrun: 2\n"},
    {"same key in two steps is not a duplicate",
     "[step:a]\nrun: 1\nif: branch == 'x'\n[step:b]\nrun: 2\nif: branch == 'y'\n",
     "timeout=300\n[a]@1\nrun: 1\nif: branch == 'x'\n[b]@4\nrun: 2\nif: branch == 'y'\n"},
    {"CRLF parses like LF", "timeout: 5\r\n[step:a]\r\nrun:\r\n  echo 1\r\n  echo 2\r\nif: branch == 'm'\r\n",
     "timeout=5\n[a]@2\nrun: echo 1\nrun: echo 2\nif: branch == 'm'\n"},
    {"UTF-8 BOM ignored", "\xEF\xBB\xBF[step:a]\nrun: x\n", "timeout=300\n[a]@1\nrun: x\n"},
    {"workflow-level timeout", "timeout: 120\n[step:a]\nrun: x\n", "timeout=120\n[a]@2\nrun: x\n"},
    {"timeout inline comment stripped (the original broke on it)",
     "timeout: 120  # Global timeout in seconds\n[step:a]\nrun: x\n", "timeout=120\n[a]@2\nrun: x\n"},
    {"timeout tab before comment", "timeout: 7\t# c\n[step:a]\nrun: x\n", "timeout=7\n[a]@2\nrun: x\n"},
    {"timeout quoted is unquoted, then typed", "timeout: '60'\n[step:a]\nrun: x\n",
     "timeout=60\n[a]@2\nrun: x\n"},
    {"timeout leading zeros", "timeout: 007\n[step:a]\nrun: x\n", "timeout=7\n[a]@2\nrun: x\n"},
    {"continue_on_error true with comment",
     "[step:a]\nrun: x\ncontinue_on_error: true  # keep going\n",
     "timeout=300\n[a]@1\nrun: x\ncontinue_on_error\n"},
    {"continue_on_error false", "[step:a]\nrun: x\ncontinue_on_error: false\n",
     "timeout=300\n[a]@1\nrun: x\n"},
    {"continue_on_error quoted", "[step:a]\nrun: x\ncontinue_on_error: \"true\"\n",
     "timeout=300\n[a]@1\nrun: x\ncontinue_on_error\n"},
    {"if: whole condition quoted", "[step:a]\nrun: x\nif: \"branch == 'main'\"\n",
     "timeout=300\n[a]@1\nrun: x\nif: branch == 'main'\n"},
    {"if: branch != with double quotes", "[step:a]\nrun: x\nif: branch != \"dev\"\n",
     "timeout=300\n[a]@1\nrun: x\nif: branch != 'dev'\n"},
    {"if: env.NAME == without spaces", "[step:a]\nrun: x\nif: env.DEPLOY_ENV=='prod'\n",
     "timeout=300\n[a]@1\nrun: x\nif: env.DEPLOY_ENV == 'prod'\n"},
    {"if: env.NAME != with wide spaces", "[step:a]\nrun: x\nif: env._X1 \t !=   ''\n",
     "timeout=300\n[a]@1\nrun: x\nif: env._X1 != ''\n"},
    {"if: inline comment stripped", "[step:a]\nrun: x\nif: branch == 'main'   # only main\n",
     "timeout=300\n[a]@1\nrun: x\nif: branch == 'main'\n"},
    {"if: # inside quotes is not a comment", "[step:a]\nrun: x\nif: branch == 'a # b'\n",
     "timeout=300\n[a]@1\nrun: x\nif: branch == 'a # b'\n"},
    {"if: value with spaces", "[step:a]\nrun: x\nif: branch == 'feature x'\n",
     "timeout=300\n[a]@1\nrun: x\nif: branch == 'feature x'\n"},
    {"run: true is the command true (typed by key)", "[step:a]\nrun: true\n",
     "timeout=300\n[a]@1\nrun: true\n"},
    {"run: 42 is the command 42", "[step:a]\nrun: 42\n", "timeout=300\n[a]@1\nrun: 42\n"},
    {"run: inline comment kept (goes to the shell)", "[step:a]\nrun: make test  # all of them\n",
     "timeout=300\n[a]@1\nrun: make test  # all of them\n"},
    {"run: one quoted string is unquoted", "[step:a]\nrun: \"echo hi\"\n",
     "timeout=300\n[a]@1\nrun: echo hi\n"},
    {"run: single-quoted string is unquoted", "[step:a]\nrun: 'it \"x\"'\n",
     "timeout=300\n[a]@1\nrun: it \"x\"\n"},
    {"run: two quoted strings kept", "[step:a]\nrun: echo \"a\" \"b\"\n",
     "timeout=300\n[a]@1\nrun: echo \"a\" \"b\"\n"},
    {"run: quotes at both ends but not one string", "[step:a]\nrun: \"a\" && \"b\"\n",
     "timeout=300\n[a]@1\nrun: \"a\" && \"b\"\n"},
    {"run: no space after colon", "[step:a]\nrun:make\n", "timeout=300\n[a]@1\nrun: make\n"},
    {"key with blanks before colon", "[step:a]\nrun : x\n", "timeout=300\n[a]@1\nrun: x\n"},
    {"run: value with colons", "[step:a]\nrun: curl http://h:80/x\n",
     "timeout=300\n[a]@1\nrun: curl http://h:80/x\n"},
    {"multi-line run: blank and # lines dropped, indentation stripped",
     "[step:deploy]\nrun:\n  echo \"Starting deployment\"\n\n  # a comment\n  env.TARGET = \"production\"\n"
     "      ./deploy.sh {env.TARGET}\ncontinue_on_error: true\n",
     "timeout=300\n[deploy]@1\nrun: echo \"Starting deployment\"\nrun: env.TARGET = \"production\"\n"
     "run: ./deploy.sh {env.TARGET}\ncontinue_on_error\n"},
    {"multi-line run lines go to the shell as written (quotes, # comments)",
     "[step:a]\nrun:\n  \"quoted\"\n  echo x  # trailing\n",
     "timeout=300\n[a]@1\nrun: \"quoted\"\nrun: echo x  # trailing\n"},
    {"multi-line run: trailing blanks trimmed", "[step:a]\nrun:\n  echo x  \t\n",
     "timeout=300\n[a]@1\nrun: echo x\n"},
    {"multi-line run ends at a key not deeper than run:",
     "[step:a]\nrun:\n  echo 1\nif: branch == 'x'\n",
     "timeout=300\n[a]@1\nrun: echo 1\nif: branch == 'x'\n"},
    {"multi-line run ends at a header", "[step:a]\nrun:\n  echo 1\n[step:b]\nrun: 2\n",
     "timeout=300\n[a]@1\nrun: echo 1\n[b]@4\nrun: 2\n"},
    {"multi-line run: blank line does not end it", "[step:a]\nrun:\n  echo 1\n\n  echo 2\n",
     "timeout=300\n[a]@1\nrun: echo 1\nrun: echo 2\n"},
    {"multi-line run: an outdented # line does not end it", "[step:a]\nrun:\n  echo 1\n# note\n  echo 2\n",
     "timeout=300\n[a]@1\nrun: echo 1\nrun: echo 2\n"},
    {"multi-line run: deeper lines that look like headers or keys are commands",
     "[step:a]\nrun:\n  [step:x]\n  if: y\n", "timeout=300\n[a]@1\nrun: [step:x]\nrun: if: y\n"},
    {"tab counts as one column", "[step:a]\nrun:\n\techo tab\n\t\techo two\n",
     "timeout=300\n[a]@1\nrun: echo tab\nrun: echo two\n"},
    {"indentation is relative to the key", "[step:a]\n  run:\n   echo 1\n  if: branch == 'x'\n",
     "timeout=300\n[a]@1\nrun: echo 1\nif: branch == 'x'\n"},
    {"tab-indented key and one-space-deeper line", "[step:a]\n\trun:\n\t echo 1\n\tcontinue_on_error: true\n",
     "timeout=300\n[a]@1\nrun: echo 1\ncontinue_on_error\n"},
    {"run: with only a comment opens a block", "[step:a]\nrun:   # commands below\n  echo 1\n",
     "timeout=300\n[a]@1\nrun: echo 1\n"},
    {"working_dir normalized", "[step:a]\nrun: x\nworking_dir: ./src/../lib/\n",
     "timeout=300\n[a]@1\nrun: x\nworking_dir: lib\n"},
    {"working_dir . is the root", "[step:a]\nrun: x\nworking_dir: .\n", "timeout=300\n[a]@1\nrun: x\n"},
    {"working_dir a/.. is the root", "[step:a]\nrun: x\nworking_dir: a/..\n", "timeout=300\n[a]@1\nrun: x\n"},
    {"working_dir repeated and dot segments", "[step:a]\nrun: x\nworking_dir: a//b/./c\n",
     "timeout=300\n[a]@1\nrun: x\nworking_dir: a/b/c\n"},
    {"working_dir quoted with a space", "[step:a]\nrun: x\nworking_dir: \"sub dir\"\n",
     "timeout=300\n[a]@1\nrun: x\nworking_dir: sub dir\n"},
    {"working_dir inline comment stripped", "[step:a]\nrun: x\nworking_dir: build  # out of tree\n",
     "timeout=300\n[a]@1\nrun: x\nworking_dir: build\n"},
    {"# not after whitespace is not a comment", "[step:a]\nrun: x\nworking_dir: a#b\n",
     "timeout=300\n[a]@1\nrun: x\nworking_dir: a#b\n"},
    {"invalid UTF-8 passes through", "[step:\xFF\xFE]\nrun: echo \xC3\x28\n",
     "timeout=300\n[\xFF\xFE]@1\nrun: echo \xC3\x28\n"},
};

struct RejectCase {
  const char* rule;
  std::string text;
  int line;
  const char* says;  // a substring the message must hold
};

const std::vector<RejectCase> kReject = {
    {"spec example: unknown condition subject", "[step:odd]\nif: repo == 'x'\nrun: echo x\n", 2,
     "invalid condition"},
    {"bare word", "[step:a]\nrun: x\nbogus\n", 3, "expected 'key: value'"},
    {"indented line after a header is not a continuation", "[step:a]\n  echo hi\nrun: x\n", 2,
     "indented lines continue a value only after"},
    {"indented line after a one-line run", "[step:a]\nrun: echo 1\n  echo 2\n", 3, "indented lines"},
    {"line of words with a colon after a space", "[step:a]\nrun: x\necho foo: bar\n", 3,
     "expected 'key: value'"},
    {"empty step name", "[step:]\nrun: x\n", 1, "empty step name"},
    {"blank step name", "[step:   ]\nrun: x\n", 1, "empty step name"},
    {"step name over 255 bytes", "[step:" + std::string(256, 'n') + "]\nrun: x\n", 1, "longer than 255"},
    {"other section kind", "[job:a]\nrun: x\n", 1, "[step:<name>]"},
    {"header without ]", "[step:a\nrun: x\n", 1, "[step:<name>]"},
    {"header with trailing text", "[step:a] # c\nrun: x\n", 1, "[step:<name>]"},
    {"header letter case", "[Step:a]\nrun: x\n", 1, "[step:<name>]"},
    {"duplicate key in a step", "[step:a]\nrun: x\nrun: y\n", 3, "duplicate key 'run' (first set on line 2)"},
    {"duplicate key across a multi-line run", "[step:a]\nif: branch == 'a'\nrun:\n  x\nif: branch == 'b'\n", 5,
     "duplicate key 'if'"},
    {"duplicate workflow-level timeout", "timeout: 1\ntimeout: 2\n[step:a]\nrun: x\n", 2, "duplicate key 'timeout'"},
    {"unknown key (typo)", "[step:a]\nrun: x\ncontinue_on_eror: true\n", 3, "unknown key 'continue_on_eror'"},
    {"unknown key with a hyphen", "[step:a]\nrun: x\nworking-dir: src\n", 3, "unknown key 'working-dir'"},
    {"keys are case-sensitive", "[step:a]\nRun: x\n", 2, "unknown key 'Run'"},
    {"timeout inside a step", "[step:a]\nrun: x\ntimeout: 5\n", 3, "timeout goes before the first"},
    {"top-level key other than timeout", "name: ci\n[step:a]\nrun: x\n", 1, "only 'timeout'"},
    {"step key before the first step", "run: x\n[step:a]\nrun: x\n", 1, "must be inside a [step:<name>]"},
    {"step-less file", "timeout: 10\n", 1, "no steps"},
    {"empty file", "", 1, "no steps"},
    {"comments only", "# nothing\n\n", 1, "no steps"},
    {"step without run", "[step:a]\nif: branch == 'x'\n[step:b]\nrun: x\n", 1, "step 'a' has no 'run'"},
    {"last step without run", "[step:a]\nrun: x\n\n[step:b]\n", 4, "step 'b' has no 'run'"},
    {"run: | (YAML literal block)", "[step:a]\nrun: |\n  echo 1\n", 2, "on its own indented line after 'run:'"},
    {"run: > (YAML folded block)", "[step:a]\nrun: >\n  echo 1\n", 2, "indented line after 'run:'"},
    {"run: |- with a comment", "[step:a]\nrun: |-  # literal\n  echo 1\n", 2, "indented line after 'run:'"},
    {"YAML block on another key", "[step:a]\nrun: x\nif: |\n  branch == 'x'\n", 3, "YAML block"},
    {"run: with no commands, ended by a key", "[step:a]\nrun:\nif: branch == 'x'\n", 2, "has no commands"},
    {"run: with no commands at end of file", "[step:a]\nrun:\n\n  # only a comment\n", 2, "has no commands"},
    {"run: empty quoted command", "[step:a]\nrun: \"\"\n", 2, "empty command"},
    {"only run takes a multi-line value", "timeout:\n  60\n[step:a]\nrun: x\n", 1, "needs a value on the same line"},
    {"if: comment only is an empty value", "[step:a]\nrun: x\nif:   # later\n", 3, "needs a value"},
    {"timeout: 0", "timeout: 0\n[step:a]\nrun: x\n", 1, "whole number of seconds >= 1"},
    {"timeout: abc", "timeout: abc\n[step:a]\nrun: x\n", 1, "whole number"},
    {"timeout: -5", "timeout: -5\n[step:a]\nrun: x\n", 1, "whole number"},
    {"timeout: 1.5", "timeout: 1.5\n[step:a]\nrun: x\n", 1, "whole number"},
    {"timeout: 12abc", "timeout: 12abc\n[step:a]\nrun: x\n", 1, "whole number"},
    {"timeout: true", "timeout: true\n[step:a]\nrun: x\n", 1, "whole number"},
    {"timeout overflow", "timeout: 99999999999999999999\n[step:a]\nrun: x\n", 1, "too large"},
    {"continue_on_error: yes", "[step:a]\nrun: x\ncontinue_on_error: yes\n", 3, "true or false"},
    {"continue_on_error: True", "[step:a]\nrun: x\ncontinue_on_error: True\n", 3, "true or false"},
    {"continue_on_error: 1", "[step:a]\nrun: x\ncontinue_on_error: 1\n", 3, "true or false"},
    {"condition: single =", "[step:a]\nrun: x\nif: branch = 'x'\n", 3, "invalid condition"},
    {"condition: triple =", "[step:a]\nrun: x\nif: branch === 'x'\n", 3, "invalid condition"},
    {"condition: unquoted value", "[step:a]\nrun: x\nif: branch == main\n", 3, "must be quoted"},
    {"condition: unterminated quote", "[step:a]\nrun: x\nif: branch == 'x\n", 3, "invalid condition"},
    {"condition: mixed quotes", "[step:a]\nrun: x\nif: branch == 'x\"\n", 3, "invalid condition"},
    {"condition: && is not supported", "[step:a]\nrun: x\nif: branch == 'a' && env.X == 'b'\n", 3,
     "invalid condition"},
    {"condition: trailing text", "[step:a]\nrun: x\nif: branch == 'a' x\n", 3, "invalid condition"},
    {"condition: other operator", "[step:a]\nrun: x\nif: branch ~= 'x'\n", 3, "invalid condition"},
    {"condition: env. without a name", "[step:a]\nrun: x\nif: env. == 'x'\n", 3, "invalid condition"},
    {"condition: env name starting with a digit", "[step:a]\nrun: x\nif: env.1X == 'x'\n", 3, "invalid condition"},
    {"condition: env name with a hyphen", "[step:a]\nrun: x\nif: env.A-B == 'x'\n", 3, "invalid condition"},
    {"condition: branches is not branch", "[step:a]\nrun: x\nif: branches == 'x'\n", 3, "invalid condition"},
    {"condition: bare boolean", "[step:a]\nrun: x\nif: true\n", 3, "invalid condition"},
    {"condition: empty after unquoting", "[step:a]\nrun: x\nif: \"\"\n", 3, "invalid condition"},
    {"working_dir absolute", "[step:a]\nrun: x\nworking_dir: /etc\n", 3, "relative"},
    {"working_dir ..", "[step:a]\nrun: x\nworking_dir: ..\n", 3, "leaves the checkout"},
    {"working_dir a/../..", "[step:a]\nrun: x\nworking_dir: a/../..\n", 3, "leaves the checkout"},
    {"working_dir ./../x", "[step:a]\nrun: x\nworking_dir: ./../x\n", 3, "leaves the checkout"},
    {"working_dir empty after unquoting", "[step:a]\nrun: x\nworking_dir: ''\n", 3, "empty"},
    {"NUL byte", "[step:a]\nrun: a\0b\n"s, 2, "NUL"},
    {"line numbers in CRLF files", "[step:a]\r\nrun: x\r\nbogus\r\n", 3, "expected 'key: value'"},
    {"line numbers count blank, comment and block lines",
     "[step:a]\nrun:\n  x\n\n  # c\n  y\nbogus\n", 7, "expected 'key: value'"},
    {"line numbers after a BOM", "\xEF\xBB\xBF" "bogus\n", 1, "expected 'key: value'"},
};

// Inputs for the robustness checks; each must return (error or not) without crashing.
std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

class DialectTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DialectTest);
  CPPUNIT_TEST(testParseAccepts);
  CPPUNIT_TEST(testParseRejects);
  CPPUNIT_TEST(testSpecExampleErrorFormat);
  CPPUNIT_TEST(testCrlfParsesLikeLf);
  CPPUNIT_TEST(testFileNameInMessages);
  CPPUNIT_TEST(testHostileInputs);
  CPPUNIT_TEST(testFuzzNeverCrashesAndErrorsCarryLines);
  CPPUNIT_TEST(testEvaluate);
  CPPUNIT_TEST(testParsedConditionEvaluates);
  CPPUNIT_TEST(testInterpolate);
  CPPUNIT_TEST(testInterpolateIsLinear);
  CPPUNIT_TEST(testParseEnvAssignment);
  CPPUNIT_TEST(testNormalizeWorkflowPath);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testParseAccepts() {
    std::string failures;
    for (const auto& c : kAccept) {
      auto wf = Parse("a.toml", c.text);
      if (!wf.ok()) failures += "\n" + std::string(c.rule) + ": unexpected error: " + wf.status().message;
      else if (Dump(*wf) != c.dump)
        failures += "\n" + std::string(c.rule) + ":\n  want " + Printable(c.dump) + "\n  got  " + Printable(Dump(*wf));
      else if (wf->file != "a.toml") failures += "\n" + std::string(c.rule) + ": file is " + wf->file;
    }
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
  }

  void testParseRejects() {
    std::string failures;
    for (const auto& c : kReject) {
      auto wf = Parse("a.toml", c.text);
      std::string prefix = "a.toml:" + std::to_string(c.line) + ": ";
      if (wf.ok()) {
        failures += "\n" + std::string(c.rule) + ": parsed, want an error";
        continue;
      }
      const Status& s = wf.status();
      if (s.code != Code::InvalidArgument || !s.message.starts_with(prefix) ||
          !std::regex_match(s.message, kErrorFormat) || s.message.find(c.says) == std::string::npos)
        failures += "\n" + std::string(c.rule) + ": want " + prefix + "...'" + c.says + "'..., got " +
                    Printable(s.message);
    }
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
  }

  // The conformance suite's check, verbatim: ^a.toml:2: \S
  void testSpecExampleErrorFormat() {
    auto wf = Parse("a.toml", "[step:odd]\nif: repo == 'x'\nrun: echo x\n");
    CPPUNIT_ASSERT(!wf.ok());
    CPPUNIT_ASSERT_MESSAGE(wf.status().message, std::regex_search(wf.status().message, std::regex(R"(^a.toml:2: \S)")));
  }

  void testCrlfParsesLikeLf() {
    std::string lf =
        "# ci\ntimeout: 60  # s\n\n[step:test]\nrun: npm test\ncontinue_on_error: true\n\n"
        "[step:deploy]\nif: \"branch == 'main'\"\nworking_dir: ./app\nrun:\n  echo \"go\"\n"
        "  env.TARGET = \"production\"\n  ./deploy.sh {env.TARGET}\n";
    std::string crlf;
    for (char c : lf) (c == '\n' ? crlf += "\r\n" : crlf += c);
    auto a = Parse("a.toml", lf);
    auto b = Parse("a.toml", crlf);
    CPPUNIT_ASSERT_MESSAGE(a.ok() ? "" : a.status().message, a.ok());
    CPPUNIT_ASSERT_MESSAGE(b.ok() ? "" : b.status().message, b.ok());
    CPPUNIT_ASSERT_EQUAL(Dump(*a), Dump(*b));
    CPPUNIT_ASSERT_EQUAL(2, static_cast<int>(a->steps.size()));
    CPPUNIT_ASSERT_EQUAL(60, a->timeout_seconds);
  }

  void testFileNameInMessages() {
    auto wf = Parse("deploy prod.toml", "[step:a]\nbogus\n");
    CPPUNIT_ASSERT(!wf.ok());
    CPPUNIT_ASSERT_MESSAGE(wf.status().message, wf.status().message.starts_with("deploy prod.toml:2: "));
    auto ok = Parse("deploy prod.toml", "[step:a]\nrun: x\n");
    CPPUNIT_ASSERT(ok.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("deploy prod.toml"), ok->file);
  }

  void testHostileInputs() {
    // 10k lines: 5000 steps.
    auto many = Parse("a.toml", Repeat("[step:s]\nrun: x\n", 5000));
    CPPUNIT_ASSERT(many.ok());
    CPPUNIT_ASSERT_EQUAL(5000, static_cast<int>(many->steps.size()));
    CPPUNIT_ASSERT_EQUAL(9999, many->steps.back().line);
    // 10k lines with the error at the end.
    auto late = Parse("a.toml", Repeat("[step:s]\nrun: x\n", 5000) + "bogus\n");
    CPPUNIT_ASSERT(!late.ok());
    CPPUNIT_ASSERT(late.status().message.starts_with("a.toml:10001: "));
    // A 4 MiB command is kept whole; a 4 MiB stray line gives a short message.
    std::string huge(4 << 20, 'x');
    auto big = Parse("a.toml", "[step:a]\nrun: " + huge + "\n");
    CPPUNIT_ASSERT(big.ok());
    CPPUNIT_ASSERT_EQUAL(huge.size(), big->steps[0].run[0].size());
    auto stray = Parse("a.toml", "[step:a]\nrun: x\n" + huge + "\n");
    CPPUNIT_ASSERT(!stray.ok());
    CPPUNIT_ASSERT(stray.status().message.size() < 400);
    // Control bytes are escaped in messages.
    auto ctl = Parse("a.toml", "[step:a]\nrun: x\n\x01\x1b[2J\n");
    CPPUNIT_ASSERT(!ctl.ok());
    CPPUNIT_ASSERT_MESSAGE(ctl.status().message, ctl.status().message.find("\\x1B[2J") != std::string::npos);
    CPPUNIT_ASSERT(ctl.status().message.find('\x1b') == std::string::npos);
    // NUL bytes anywhere, including in a header and in a multi-line run.
    CPPUNIT_ASSERT(!Parse("a.toml", "[step:\0]\nrun: x\n"s).ok());
    CPPUNIT_ASSERT(!Parse("a.toml", "[step:a]\nrun:\n  a\0\n"s).ok());
    CPPUNIT_ASSERT(!Parse("a.toml", std::string(1000, '\0')).ok());
    // Only \r, only \n, only [ or quotes.
    CPPUNIT_ASSERT(!Parse("a.toml", std::string(100000, '\r')).ok());
    CPPUNIT_ASSERT(!Parse("a.toml", std::string(100000, '\n')).ok());
    CPPUNIT_ASSERT(!Parse("a.toml", std::string(100000, '[')).ok());
    CPPUNIT_ASSERT(!Parse("a.toml", "[step:a]\nrun: x\nif: " + std::string(100000, '\'')).ok());
    // A BOM alone, and one cut short.
    CPPUNIT_ASSERT(!Parse("a.toml", "\xEF\xBB\xBF").ok());
    CPPUNIT_ASSERT(!Parse("a.toml", "\xEF\xBB").ok());
  }

  // Random documents from dialect fragments: Parse must return, and either give a well-formed
  // workflow or an error of the form "a.toml:<line>: ..." whose line exists.
  void testFuzzNeverCrashesAndErrorsCarryLines() {
    const std::vector<std::string> frags = {
        "[step:", "]", "run:", "run: ", "if: ", "timeout: ", "working_dir: ", "continue_on_error: ",
        "\n", "\n", "\n", "\r\n", "  ", "\t", "#", " # c", "'", "\"", "\0"s, "\xFF", "\xEF\xBB\xBF",
        "branch == 'x'", "env.A != \"y\"", "true", "12", "..", "/", "|", ">", "echo hi", "{branch}", "a"};
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    auto next = [&] {
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      return seed;
    };
    std::string failures;
    int parsed = 0;
    for (int i = 0; i < 5000 && failures.size() < 2000; ++i) {
      std::string doc = i % 3 == 0 ? "[step:a]\nrun: x\n" : "";
      for (int n = next() % 40; n > 0; --n) doc += frags[next() % frags.size()];
      auto wf = Parse("a.toml", doc);
      int lines = 1;
      for (char c : doc) lines += c == '\n';
      if (wf.ok()) {
        ++parsed;
        for (const Step& s : wf->steps) {
          bool bad = s.name.empty() || s.run.empty() || s.working_dir.starts_with('/') ||
                     s.working_dir == ".." || s.working_dir.starts_with("../") || s.line < 1 || s.line > lines;
          for (const std::string& r : s.run) bad |= r.empty();
          if (bad) failures += "\nbad workflow from " + Printable(doc);
        }
      } else {
        std::smatch m;
        const std::string& msg = wf.status().message;
        if (!std::regex_match(msg, m, kErrorFormat) || std::stoi(m[1].str()) < 1 || std::stoi(m[1].str()) > lines)
          failures += "\nbad error " + Printable(msg) + " from " + Printable(doc);
      }
    }
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
    CPPUNIT_ASSERT_MESSAGE("the fuzzer should also produce valid files", parsed > 50);
  }

  void testEvaluate() {
    using S = Condition::Subject;
    const std::map<std::string, std::string> env = {{"DEPLOY", "prod"}, {"EMPTY", ""}};
    struct Row {
      const char* rule;
      Condition c;
      const char* branch;
      bool want;
    };
    const Row rows[] = {
        {"branch == match", {S::Branch, "", true, "main"}, "main", true},
        {"branch == mismatch", {S::Branch, "", true, "main"}, "dev", false},
        {"branch == is exact, not prefix", {S::Branch, "", true, "main"}, "main2", false},
        {"branch == is case-sensitive", {S::Branch, "", true, "main"}, "Main", false},
        {"branch != match", {S::Branch, "", false, "main"}, "main", false},
        {"branch != mismatch", {S::Branch, "", false, "main"}, "dev", true},
        {"env == match", {S::Env, "DEPLOY", true, "prod"}, "main", true},
        {"env == mismatch", {S::Env, "DEPLOY", true, "staging"}, "main", false},
        {"env != mismatch", {S::Env, "DEPLOY", false, "staging"}, "main", true},
        {"env name is case-sensitive", {S::Env, "deploy", true, "prod"}, "main", false},
        {"unset env == '' is true", {S::Env, "NOPE", true, ""}, "main", true},
        {"unset env != 'x' is true", {S::Env, "NOPE", false, "x"}, "main", true},
        {"unset env == 'x' is false", {S::Env, "NOPE", true, "x"}, "main", false},
        {"empty env == ''", {S::Env, "EMPTY", true, ""}, "main", true},
        {"env subject ignores the branch", {S::Env, "DEPLOY", true, "main"}, "main", false},
    };
    std::string failures;
    for (const Row& r : rows)
      if (Evaluate(r.c, r.branch, env) != r.want) failures += "\n" + std::string(r.rule);
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
  }

  void testParsedConditionEvaluates() {
    auto wf = Parse("a.toml",
                    "[step:a]\nrun: x\nif: branch == 'main'\n[step:b]\nrun: x\nif: env.T != \"prod\"\n");
    CPPUNIT_ASSERT(wf.ok());
    const std::map<std::string, std::string> env = {{"T", "prod"}};
    CPPUNIT_ASSERT(Evaluate(*wf->steps[0].condition, "main", env));
    CPPUNIT_ASSERT(!Evaluate(*wf->steps[0].condition, "dev", env));
    CPPUNIT_ASSERT(!Evaluate(*wf->steps[1].condition, "main", env));
    CPPUNIT_ASSERT(Evaluate(*wf->steps[1].condition, "main", {}));
  }

  void testInterpolate() {
    const std::map<std::string, std::string> env = {{"TARGET", "production"}, {"TOKEN", "s3cr3t"}, {"E", ""}};
    struct Row {
      const char* text;
      const char* branch;
      const char* want;
    };
    const Row rows[] = {
        {"deploy {branch}", "main", "deploy main"},
        {"{repo}", "main", "my-project"},
        {"./deploy.sh {env.TARGET}", "main", "./deploy.sh production"},
        {"{env.TOKEN}", "main", "s3cr3t"},
        {"[{env.E}]", "main", "[]"},
        {"{repo}@{branch}:{env.TARGET}{env.TOKEN}", "dev", "my-project@dev:productions3cr3t"},
        {"no braces", "main", "no braces"},
        {"{unknown} stays", "main", "{unknown} stays"},
        {"{env.MISSING} stays", "main", "{env.MISSING} stays"},
        {"{env.bad-name}", "main", "{env.bad-name}"},
        {"{env.}", "main", "{env.}"},
        {"{ branch }", "main", "{ branch }"},
        {"{Branch}", "main", "{Branch}"},
        {"{}", "main", "{}"},
        {"{{branch}}", "main", "{main}"},
        {"{{{repo}", "main", "{{my-project"},
        {"{branch", "main", "{branch"},
        {"}{branch}{", "main", "}main{"},
        {"${branch}", "main", "$main"},
        {"inserted values are not rescanned: {branch}", "{env.TOKEN}", "inserted values are not rescanned: {env.TOKEN}"},
        {"", "main", ""},
    };
    std::string failures;
    for (const Row& r : rows) {
      std::string got = Interpolate(r.text, r.branch, "my-project", env);
      if (got != r.want) failures += "\n" + std::string(r.text) + ": want " + r.want + ", got " + got;
    }
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
  }

  void testInterpolateIsLinear() {
    std::string text = std::string(1 << 20, '{') + "branch}" + std::string(1 << 20, '}');
    auto start = std::chrono::steady_clock::now();
    std::string got = Interpolate(text, "m", "r", {});
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    CPPUNIT_ASSERT_EQUAL(std::string((1 << 20) - 1, '{') + "m" + std::string(1 << 20, '}'), got);
    CPPUNIT_ASSERT_MESSAGE(std::to_string(ms) + " ms", ms < 2000);
  }

  void testParseEnvAssignment() {
    struct Row {
      const char* line;
      bool match;
      const char* name;
      const char* value;
    };
    const Row rows[] = {
        {"env.TARGET = \"production\"", true, "TARGET", "production"},
        {"env.X='a b'", true, "X", "a b"},
        {"env.X = bare value", true, "X", "bare value"},
        {"  env._x1=1  ", true, "_x1", "1"},
        {"env.X =", true, "X", ""},
        {"env.X = \"\"", true, "X", ""},
        {"env.X = \"a\" \"b\"", true, "X", "\"a\" \"b\""},
        {"env.X = it's", true, "X", "it's"},
        {"env.X = a=b", true, "X", "a=b"},
        {"env.X = \"{branch}\"", true, "X", "{branch}"},
        {"env.X == 'y'", false, "", ""},
        {"echo env.X = 1", false, "", ""},
        {"env.1X = a", false, "", ""},
        {"env. = a", false, "", ""},
        {"ENV.X = a", false, "", ""},
        {"env.X-Y = a", false, "", ""},
        {"env.X", false, "", ""},
        {"env.X: a", false, "", ""},
        {"export X=1", false, "", ""},
        {"", false, "", ""},
    };
    std::string failures;
    for (const Row& r : rows) {
      auto got = ParseEnvAssignment(r.line);
      if (got.has_value() != r.match)
        failures += "\n" + std::string(r.line) + (r.match ? ": not recognized" : ": recognized");
      else if (got && (got->first != r.name || got->second != r.value))
        failures += "\n" + std::string(r.line) + ": got {" + got->first + ", " + got->second + "}";
    }
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
  }

  void testNormalizeWorkflowPath() {
    struct Row {
      std::string entry;
      const char* want;  // nullptr: rejected
      const char* says;  // for a rejection: a substring of the reason
    };
    const Row rows[] = {
        {"build.toml", "build.toml", nullptr},
        {".kod/workflows/b.toml", "b.toml", nullptr},
        {"my build.toml", "my build.toml", nullptr},
        {"a.b.toml", "a.b.toml", nullptr},
        {"../x.toml", nullptr, "segments"},
        {".kod/workflows/../../README.md", nullptr, "segments"},
        {".kod/workflows/../workflows/x.toml", nullptr, "segments"},
        {"/etc/passwd", nullptr, "absolute"},
        {"/.kod/workflows/b.toml", nullptr, "absolute"},
        {"ci/x.toml", nullptr, "directly in .kod/workflows/"},
        {"a/b.toml", nullptr, "directly in .kod/workflows/"},
        {".kod/workflows/sub/x.toml", nullptr, "directly in .kod/workflows/"},
        {".kod/x.toml", nullptr, "directly in .kod/workflows/"},
        {"./build.toml", nullptr, "segments"},
        {".kod//workflows/x.toml", nullptr, "segments"},
        {"build.toml/", nullptr, "segments"},
        {".kod/workflows/", nullptr, "segments"},
        {".kod/workflows", nullptr, "directly in .kod/workflows/"},
        {"..", nullptr, "segments"},
        {"", nullptr, "empty path"},
        {"x\0.toml"s, nullptr, "NUL"},
        {"build.yml", nullptr, "end in .toml"},
        {".toml", nullptr, "end in .toml"},
    };
    std::string failures;
    for (const Row& r : rows) {
      auto got = NormalizeWorkflowPath(r.entry);
      if (r.want && (!got.ok() || *got != r.want)) {
        failures += "\n" + Printable(r.entry) + ": want " + r.want + ", got " + (got.ok() ? *got : got.status().message);
      } else if (!r.want) {
        std::string shown = "'" + (r.entry.find('\0') == std::string::npos ? r.entry : "x\\x00.toml") + "'";
        if (got.ok()) failures += "\n" + Printable(r.entry) + ": accepted as " + *got;
        else if (got.status().code != Code::InvalidArgument || got.status().message.find(shown) == std::string::npos ||
                 got.status().message.find(r.says) == std::string::npos)
          failures += "\n" + Printable(r.entry) + ": want a message naming " + shown + " and saying '" + r.says +
                      "', got " + Printable(got.status().message);
      }
    }
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DialectTest);

}  // namespace
}  // namespace kod::workflow
