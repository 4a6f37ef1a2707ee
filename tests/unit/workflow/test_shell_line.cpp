// InterpolateForShell: hostile values in every quoting context run nothing and print themselves
// (issue 9 defect 8: a branch named q'$(echo${IFS}PWNED)' ran the command in `echo '{branch}'`).
#include <cppunit/extensions/HelperMacros.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "lib/workflow/shell_line.h"

using namespace std::string_literals;

namespace kod::workflow {
namespace {

std::string TempDir() {
  char dir[] = "/tmp/kod-shell-line-XXXXXX";
  CPPUNIT_ASSERT(::mkdtemp(dir) != nullptr);
  return dir;
}

// Runs `line` (interpolated with `branch`) through /bin/sh in `dir` the way the runner does:
// the script on stdin, the values in the environment. Returns its stdout.
std::string RunInShell(const std::string& dir, const std::string& line, const std::string& branch,
                       const std::map<std::string, std::string>& env = {}) {
  ShellLine sl = InterpolateForShell(line, branch, "my-repo", env);
  CPPUNIT_ASSERT_MESSAGE(sl.script, branch.size() < 4 || sl.script.find(branch) == std::string::npos);
  const std::string script = dir + "/script";
  std::ofstream(script) << sl.script;
  std::string cmd = "cd " + dir + " && env -i PATH=/usr/bin:/bin";
  for (const auto& [k, v] : sl.vars) {
    ::setenv(("KOD_T_" + k).c_str(), v.c_str(), 1);  // passed on by name, not by value
    cmd += " " + k + "=\"$KOD_T_" + k + "\"";
  }
  cmd += " /bin/sh -s <" + script + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  CPPUNIT_ASSERT(p != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  for (const auto& [k, v] : sl.vars) ::unsetenv(("KOD_T_" + k).c_str());
  return out;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

class ShellLineTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ShellLineTest);
  CPPUNIT_TEST(HostileValuesRunNothingInAnyContext);
  CPPUNIT_TEST(OutputIsTheValueInEachContext);
  CPPUNIT_TEST(ScriptHoldsReferencesNotValues);
  CPPUNIT_TEST(UnknownPlaceholdersStayAsWritten);
  CPPUNIT_TEST(IsLinear);
  CPPUNIT_TEST_SUITE_END();

 public:
  // Each hostile value in each context: the sentinel command never runs, and the value comes
  // out whole, byte for byte.
  void HostileValuesRunNothingInAnyContext() {
    const std::string dir = TempDir();
    const std::vector<std::string> values = {
        "q'$(echo${IFS}PWNED)'$(touch pwned1)",
        "\"; touch pwned2; \"",
        "'; touch pwned3; '",
        "`touch pwned4`",
        "$(touch pwned5)",
        "a\\'\"$(touch pwned6)\\",
        "x'\"'\"'$(touch pwned7)",
        "}{branch}${IFS}$(touch pwned8)",
    };
    const std::vector<std::string> lines = {
        "printf '%s\\n' {branch}",
        "printf '%s\\n' \"{branch}\"",
        "printf '%s\\n' '{branch}'",
        "printf '%s\\n' \"[{branch}]\" '[{branch}]' [{branch}]",
        "printf '%s\\n' \"$(printf '%s' '{branch}')\"",
        "printf '%s\\n' \"$(printf '%s' \"{branch}\")\"",
        "printf '%s\\n' \"`printf '%s' {branch}`\"",
        "printf '%s\\n' \"`printf '%s' '{branch}'`\"",
        "printf '%s\\n' \"'{branch}'\"",
        "printf '%s\\n' '\"{branch}\"'",
        "printf '%s\\n' x\\'{branch}",
        "printf '%s\\n' ${X:-{branch}}",
    };
    std::string failures;
    for (const std::string& v : values) {
      for (const std::string& l : lines) {
        std::string out = RunInShell(dir, l, v);
        if (out.find(v) == std::string::npos) failures += "\n" + l + " with " + v + " gave " + out;
      }
    }
    for (int i = 1; i <= 8; ++i)
      if (Exists(dir + "/pwned" + std::to_string(i))) failures += "\nthe sentinel pwned" + std::to_string(i) + " ran";
    std::system(("rm -rf " + dir).c_str());
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
  }

  // What users expect to read (the public suite checks `echo "branch=[{branch}]"`).
  void OutputIsTheValueInEachContext() {
    const std::string dir = TempDir();
    const std::map<std::string, std::string> env = {{"N", "41"}, {"TARGET", "prod env"}};
    struct Row {
      const char* line;
      const char* want;
    };
    const Row rows[] = {
        {"echo \"branch=[{branch}]\"", "branch=[main]\n"},
        {"echo 'branch=[{branch}]'", "branch=[main]\n"},
        {"echo branch=[{branch}]", "branch=[main]\n"},
        {"echo {repo}/{branch}", "my-repo/main\n"},
        {"printf '%s|' {env.TARGET}; echo", "prod env|\n"},
        {"echo $(( {env.N} + 1 ))", "42\n"},
        {"echo \"$(( {env.N} + 1 ))\"", "42\n"},
        {"echo ok # {branch} it's a comment", "ok\n"},
        {"echo '{env.MISSING}' {nope}", "{env.MISSING} {nope}\n"},
        {"echo \"{{branch}}\"", "{main}\n"},
        {"echo ${branch}", "$main\n"},
        {"echo \\{branch}", "{branch}\n"},
    };
    std::string failures;
    for (const Row& r : rows) {
      std::string out = RunInShell(dir, r.line, "main", env);
      if (out != r.want) failures += "\n" + std::string(r.line) + ": want " + r.want + " got " + out;
    }
    std::system(("rm -rf " + dir).c_str());
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
  }

  void ScriptHoldsReferencesNotValues() {
    ShellLine sl = InterpolateForShell("a {branch} \"{env.S}\" '{repo}' {branch}", "dev", "r",
                                       {{"S", "the-secret-value"}});
    CPPUNIT_ASSERT_EQUAL("a \"${KOD_I_1}\" \"${KOD_I_2}\" ''\"${KOD_I_3}\"'' \"${KOD_I_1}\""s, sl.script);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, sl.vars.size());
    CPPUNIT_ASSERT_EQUAL("KOD_I_1"s, sl.vars[0].first);
    CPPUNIT_ASSERT_EQUAL("dev"s, sl.vars[0].second);
    CPPUNIT_ASSERT_EQUAL("the-secret-value"s, sl.vars[1].second);
    CPPUNIT_ASSERT_EQUAL("r"s, sl.vars[2].second);
  }

  void UnknownPlaceholdersStayAsWritten() {
    for (const char* text : {"{unknown}", "{env.MISSING}", "{env.bad-name}", "{ branch }", "{branch", "{}"}) {
      ShellLine sl = InterpolateForShell(text, "main", "r", {});
      CPPUNIT_ASSERT_EQUAL(std::string(text), sl.script);
      CPPUNIT_ASSERT(sl.vars.empty());
    }
  }

  void IsLinear() {
    std::string text = std::string(1 << 20, '{') + "branch}" + std::string(1 << 20, '\'') + "{" +
                       std::string(1 << 20, 'a');
    ShellLine sl = InterpolateForShell(text, "m", "r", {});
    CPPUNIT_ASSERT_EQUAL(size_t{1}, sl.vars.size());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ShellLineTest);

}  // namespace
}  // namespace kod::workflow
