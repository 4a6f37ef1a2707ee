#include "runner/run_executor.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/utf8.h"
#include "lib/git/repository.h"
#include "lib/service/execution.h"
#include "lib/service/repos.h"
#include "lib/service/secrets.h"
#include "lib/workflow/dialect.h"
#include "lib/workflow/shell_line.h"
#include "runner/executor.h"

namespace kod::runner {
namespace {

namespace fs = std::filesystem;

// The files of a run: the pinned list, or every *.toml of .kod/workflows/ at the commit.
Result<std::vector<std::string>> RunFiles(const std::string& repo_path, const domain::Run& run) {
  if (!run.files) return git::WorkflowFiles(repo_path, run.commit);
  return *run.files;
}

// True if `dir` (after resolving symlinks) is `root` or inside it.
bool InsideCheckout(const fs::path& root, const fs::path& dir) {
  std::error_code ec;
  fs::path r = fs::canonical(root, ec);
  if (ec) return false;
  fs::path d = fs::canonical(dir, ec);
  if (ec) return false;
  auto rs = r.string(), ds = d.string();
  return ds == rs || (ds.size() > rs.size() && ds.compare(0, rs.size(), rs) == 0 && ds[rs.size()] == '/');
}

class Recorder {
 public:
  Recorder(service::Env& env, const domain::Run& run) : env_(env), run_(run) {}
  void Add(domain::StepResult step) {
    // Names and errors can carry bytes from the workflow file: store them as valid UTF-8.
    step.name = utf8::Sanitize(step.name);
    if (step.error) step.error = utf8::Sanitize(*step.error);
    Status s = service::RecordStep(env_, run_, step);
    if (!s.ok())
      log::Error("run " + run_.id + ": could not record step '" + step.name.substr(0, 80) + "': " + s.message);
  }

 private:
  service::Env& env_;
  const domain::Run& run_;
};

// Gives the workspace to the step user (the checkout is written by the runner).
void GiveTo(const fs::path& dir, int uid, int gid) {
  if (uid < 0) return;
  std::error_code ec;
  ::lchown(dir.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid));
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    ::lchown(it->path().c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid));
}

}  // namespace

void ExecuteRun(service::Env& env, const domain::Run& run, const RunContext& ctx) {
  const std::string& runner_id = ctx.runner_id;
  const int64_t started = run.started_at.value_or(NowMs());
  // The repository may have been renamed since the run was queued: find it by its stable id.
  const std::string repo_name = service::CurrentRepoName(env, run);
  const std::string repo_path = service::RepoPath(env.config, repo_name);
  const fs::path work = fs::path(env.config.workspace_dir) / run.id;
  const fs::path checkout = work / "checkout";
  const fs::path home = work / "home";
  Recorder record(env, run);
  bool failed = false;

  auto setup_failure = [&](const std::string& error) {
    domain::StepResult s;
    s.name = "Setup";
    s.error = error;
    record.Add(s);
    failed = true;
  };

  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(checkout, ec);
  fs::create_directories(home, ec);
  std::map<std::string, std::string> secrets;
  std::vector<std::pair<std::string, workflow::Workflow>> workflows;
  if (ec) {
    setup_failure("cannot create the workspace: " + ec.message());
  } else if (Status s = git::CheckoutTo(repo_path, run.commit, checkout.string()); !s.ok()) {
    setup_failure("checkout failed: " + s.message);
  } else if (auto sec = service::SecretsForRun(env, run.repo_id); !sec.ok()) {
    setup_failure(sec.status().message);
  } else if (auto files = RunFiles(repo_path, run); !files.ok()) {
    secrets = std::move(*sec);
    setup_failure(files.status().message);
  } else {
    secrets = std::move(*sec);
    for (const std::string& f : *files) {
      auto text = git::ReadBlob(repo_path, run.commit, ".kod/workflows/" + f);
      if (!text.ok() || !*text) {
        setup_failure(f + ":1: workflow file not found at " + run.commit);
        break;
      }
      auto parsed = workflow::Parse(f, **text);
      if (!parsed.ok()) {
        setup_failure(parsed.status().message);
        break;
      }
      workflows.emplace_back(f, std::move(*parsed));
    }
    if (!failed && workflows.empty()) setup_failure("No workflow files on " + run.branch);
    GiveTo(work, ctx.uid, ctx.gid);
    ::chmod(work.c_str(), 0700);
  }

  std::vector<std::string> mask;
  for (const auto& [k, v] : secrets) mask.push_back(v);
  std::map<std::string, std::string> vars;  // env.NAME = "value" lines, for the rest of the run

  for (const auto& [file, wf] : workflows) {
    if (failed) break;
    const int64_t deadline = MonotonicMs() + static_cast<int64_t>(wf.timeout_seconds) * 1000;
    for (const workflow::Step& step : wf.steps) {
      if (ctx.stopping()) return;  // the runner's stop path fails the run
      std::map<std::string, std::string> visible = secrets;  // {env.NAME} and if: see both
      for (const auto& [k, v] : vars) visible[k] = v;
      domain::StepResult result;
      result.name = step.name;
      const int64_t step_started = MonotonicMs();
      if (step.condition && !workflow::Evaluate(*step.condition, run.branch, visible)) {
        result.success = true;
        result.skipped = true;
        record.Add(result);
        continue;
      }
      OutputCapture out(mask);
      bool ok = true;
      bool timed_out = false;
      fs::path cwd = checkout / step.working_dir;
      if (!InsideCheckout(checkout, cwd)) {
        ok = false;
        result.error = "working_dir " + step.working_dir + " does not exist or leaves the checkout";
      }
      for (size_t i = 0; ok && i < step.run.size(); ++i) {
        const std::string& line = step.run[i];
        if (auto assign = workflow::ParseEnvAssignment(line)) {
          vars[assign->first] = workflow::Interpolate(assign->second, run.branch, repo_name, visible);
          visible[assign->first] = vars[assign->first];
          continue;
        }
        // The script holds references to variables, never the values (docs/workflows.md).
        workflow::ShellLine shell = workflow::InterpolateForShell(line, run.branch, repo_name, visible);
        ShellCommand cmd;
        cmd.script = std::move(shell.script);
        cmd.cwd = fs::canonical(cwd, ec).string();
        cmd.deadline_ms = deadline;
        cmd.run_as_uid = ctx.uid;
        cmd.run_as_gid = ctx.gid;
        // Secrets and env.X first, then the built-ins over them: a secret named PATH or
        // KOD_RUN_ID cannot break the documented environment (docs/workflows.md).
        for (const auto& [k, v] : secrets) cmd.env[k] = v;
        for (const auto& [k, v] : vars) cmd.env[k] = v;
        for (auto& [k, v] : std::map<std::string, std::string>{
                 {"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", home.string()}, {"LANG", "C.UTF-8"},
                 {"CI", "true"}, {"KOD_REPO", repo_name}, {"KOD_BRANCH", run.branch},
                 {"KOD_COMMIT", run.commit}, {"KOD_RUN_ID", run.id}})
          cmd.env[k] = v;
        for (auto& [k, v] : shell.vars) cmd.env[k] = std::move(v);
        CommandResult r = RunShell(cmd, out);
        if (r.timed_out) {
          ok = false;
          timed_out = true;
          result.error = "Timed out after " + std::to_string(wf.timeout_seconds) + "s";
        } else if (!r.spawn_error.empty()) {
          ok = false;
          result.error = "Could not start the command: " + r.spawn_error;
        } else if (r.exit_code != 0) {
          ok = false;
          result.error = "Exit code: " + std::to_string(r.exit_code);
        }
      }
      result.output = out.Finish();
      result.success = ok;
      result.duration_ms = MonotonicMs() - step_started;
      record.Add(result);
      if (ctx.stopping()) return;  // killed by the runner's stop: its stop path fails the run
      // A timeout ends the file whatever continue_on_error says: its time budget is spent.
      if (!ok && (timed_out || !step.continue_on_error)) {
        failed = true;
        break;
      }
    }
  }

  const int64_t now = NowMs();
  Status s = service::FinishRun(env, run, runner_id, !failed, std::max<int64_t>(0, now - started),
                                std::max(now, started));
  if (!s.ok()) log::Error("run " + run.id + ": could not record the result: " + s.message);
  fs::remove_all(work, ec);
  log::Info("run " + run.id + " " + (failed ? "failed" : "completed"));
}

}  // namespace kod::runner
