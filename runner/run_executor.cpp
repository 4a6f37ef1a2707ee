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
#include "runner/live_log.h"

namespace kod::runner {
namespace {

namespace fs = std::filesystem;
using Vars = std::map<std::string, std::string>;

// The files of a run: the pinned list, or every *.toml of .kod/workflows/ at the commit.
Result<std::vector<std::string>> FilesOf(const std::string& repo_path, const domain::Run& run) {
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

// Gives the workspace to the step user (the checkout is written by the runner).
void GiveTo(const fs::path& dir, int uid, int gid) {
  if (uid < 0) return;
  std::error_code ec;
  ::lchown(dir.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid));
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    ::lchown(it->path().c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid));
}

// One claimed run on its way: the workspace, the parsed files, the variables, the verdict.
class Execution {
 public:
  Execution(service::Env& env, const domain::Run& run, const RunContext& ctx)
      : env_(env), run_(run), ctx_(ctx), repo_name_(service::CurrentRepoName(env, run)),
        work_(fs::path(env.config.workspace_dir) / run.id), checkout_(work_ / "checkout"), home_(work_ / "home") {}

  // Checkout, secrets, parse; a problem fails the run with one step "Setup".
  void Prepare() {
    const std::string repo_path = service::RepoPath(env_.config, repo_name_);
    std::error_code ec;
    fs::remove_all(work_, ec);
    fs::create_directories(checkout_, ec);
    fs::create_directories(home_, ec);
    if (ec) return SetupFailure("cannot create the workspace: " + ec.message());
    if (Status s = git::CheckoutTo(repo_path, run_.commit, checkout_.string()); !s.ok())
      return SetupFailure("checkout failed: " + s.message);
    auto sec = service::SecretsForRun(env_, run_.repo_id);
    if (!sec.ok()) return SetupFailure(sec.status().message);
    secrets_ = std::move(*sec);
    for (const auto& [k, v] : secrets_) mask_.push_back(v);
    auto files = FilesOf(repo_path, run_);
    if (!files.ok()) return SetupFailure(files.status().message);
    for (const std::string& f : *files) {
      auto text = git::ReadBlob(repo_path, run_.commit, ".kod/workflows/" + f);
      if (!text.ok() || !*text) return SetupFailure(f + ":1: workflow file not found at " + run_.commit);
      auto parsed = workflow::Parse(f, **text);
      if (!parsed.ok()) return SetupFailure(parsed.status().message);
      workflows_.push_back(std::move(*parsed));
    }
    if (workflows_.empty()) return SetupFailure("No workflow files on " + run_.branch);
    GiveTo(work_, ctx_.uid, ctx_.gid);
    ::chmod(work_.c_str(), 0700);
  }

  // The files in order; the first failed one ends the run. False: the runner is stopping (its
  // stop path fails the run).
  bool RunWorkflows() {
    for (const workflow::Workflow& wf : workflows_) {
      if (failed_ || cancelled_) break;
      const int64_t deadline = MonotonicMs() + static_cast<int64_t>(wf.timeout_seconds) * 1000;
      for (const workflow::Step& step : wf.steps) {
        if (ctx_.stopping()) return false;
        if (ctx_.cancelled(run_.id)) cancelled_ = true;  // no further step starts
        if (cancelled_) break;
        const bool go_on = RunStep(wf, step, deadline);
        if (ctx_.stopping()) return false;  // killed by the runner's stop: its stop path fails the run
        if (!go_on) {
          failed_ = true;
          break;
        }
      }
    }
    return true;
  }

  // Records the verdict through the one service function that finishes runs, and cleans up.
  void Finish() {
    const int64_t started = run_.started_at.value_or(NowMs());
    const int64_t now = NowMs();
    const domain::RunStatus outcome = cancelled_ ? domain::RunStatus::Cancelled
                                      : failed_  ? domain::RunStatus::Failed
                                                 : domain::RunStatus::Completed;
    Status s = service::FinishRun(env_, run_, ctx_.runner_id, outcome, std::max<int64_t>(0, now - started),
                                  std::max(now, started));
    if (!s.ok()) log::Error("run " + run_.id + ": could not record the result: " + s.message);
    std::error_code ec;
    fs::remove_all(work_, ec);
    log::Info("run " + run_.id + " " + domain::RunStatusName(outcome));
  }

 private:
  void SetupFailure(const std::string& error) {
    domain::StepResult s;
    s.name = "Setup";
    s.error = error;
    Record(s);
    failed_ = true;
  }

  void Record(domain::StepResult step) {
    // Names and errors can carry bytes from the workflow file: store them as valid UTF-8.
    step.name = utf8::Sanitize(step.name);
    if (step.error) step.error = utf8::Sanitize(*step.error);
    Status s = service::RecordStep(env_, run_, step);
    if (!s.ok()) log::Error("run " + run_.id + ": could not record step '" + step.name.substr(0, 80) + "': " + s.message);
  }

  // {env.NAME} and if: see secrets and env. variables alike.
  Vars Visible() const {
    Vars visible = secrets_;
    for (const auto& [k, v] : vars_) visible[k] = v;
    return visible;
  }

  // Runs one step (or records it skipped). False when it ends the file: it failed without
  // continue_on_error, or timed out (a timeout spends the file's time whatever that says).
  bool RunStep(const workflow::Workflow& wf, const workflow::Step& step, int64_t deadline) {
    domain::StepResult result;
    result.name = utf8::Sanitize(step.name);
    if (step.condition && !workflow::Evaluate(*step.condition, run_.branch, Visible())) {
      result.success = result.skipped = true;
      Record(result);
      return true;
    }
    const int64_t started = MonotonicMs();
    OutputCapture out(mask_);
    LiveStepLog live(env_, run_, result.name, out);
    bool timed_out = false;
    result.success = RunCommands(wf, step, deadline, out, live, result, timed_out);
    result.duration_ms = MonotonicMs() - started;
    live.Finish(result);
    return result.success || (!timed_out && step.continue_on_error);
  }

  // The step's run lines, in its working directory, until one fails. Sets result.error.
  bool RunCommands(const workflow::Workflow& wf, const workflow::Step& step, int64_t deadline, OutputCapture& out,
                   LiveStepLog& live, domain::StepResult& result, bool& timed_out) {
    const fs::path cwd = checkout_ / step.working_dir;
    if (!InsideCheckout(checkout_, cwd)) {
      result.error = "working_dir " + step.working_dir + " does not exist or leaves the checkout";
      return false;
    }
    std::error_code ec;
    const std::string dir = fs::canonical(cwd, ec).string();
    for (const std::string& line : step.run) {
      if (auto assign = workflow::ParseEnvAssignment(line)) {
        vars_[assign->first] = workflow::Interpolate(assign->second, run_.branch, repo_name_, Visible());
        continue;
      }
      CommandResult r = RunShell(Command(line, dir, deadline, [&] { live.Tick(); }), out);
      if (!result.resources) result.resources = domain::StepResources{};
      result.resources->cpu_ms += r.cpu_ms;
      result.resources->max_rss_kb = std::max(result.resources->max_rss_kb, r.max_rss_kb);
      if (r.cancelled) {
        cancelled_ = true;
        result.error = "Cancelled";
      } else if (r.timed_out) {
        timed_out = true;
        result.error = "Timed out after " + std::to_string(wf.timeout_seconds) + "s";
      } else if (!r.spawn_error.empty()) {
        result.error = "Could not start the command: " + r.spawn_error;
      } else if (r.exit_code != 0) {
        result.error = "Exit code: " + std::to_string(r.exit_code);
      }
      if (result.error) return false;
    }
    return true;
  }

  // One run line as the shell gets it: the script holds references to variables, never the
  // values (docs/workflows.md#interpolation), in the clean environment of the dialect.
  ShellCommand Command(const std::string& line, const std::string& dir, int64_t deadline, std::function<void()> tick) {
    workflow::ShellLine shell = workflow::InterpolateForShell(line, run_.branch, repo_name_, Visible());
    ShellCommand cmd;
    cmd.script = std::move(shell.script);
    cmd.cwd = dir;
    cmd.deadline_ms = deadline;
    cmd.run_as_uid = ctx_.uid;
    cmd.run_as_gid = ctx_.gid;
    cmd.on_progress = std::move(tick);
    cmd.cancelled = [this] { return ctx_.cancelled(run_.id); };
    // Secrets and env.X first, then the built-ins over them: a secret named PATH or KOD_RUN_ID
    // cannot break the documented environment (docs/workflows.md); the interpolation variables
    // come last.
    for (const auto& [k, v] : secrets_) cmd.env[k] = v;
    for (const auto& [k, v] : vars_) cmd.env[k] = v;
    for (auto& [k, v] : Vars{{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", home_.string()},
                             {"LANG", "C.UTF-8"}, {"CI", "true"}, {"KOD_REPO", repo_name_},
                             {"KOD_BRANCH", run_.branch}, {"KOD_COMMIT", run_.commit}, {"KOD_RUN_ID", run_.id}})
      cmd.env[k] = v;
    for (auto& [k, v] : shell.vars) cmd.env[k] = std::move(v);
    return cmd;
  }

  service::Env& env_;
  const domain::Run& run_;
  const RunContext& ctx_;
  const std::string repo_name_;  // current name: the repository may have been renamed since
  const fs::path work_, checkout_, home_;
  Vars secrets_;
  std::vector<std::string> mask_;
  Vars vars_;  // env.NAME = "value" lines, for the rest of the run
  std::vector<workflow::Workflow> workflows_;
  bool failed_ = false;
  bool cancelled_ = false;
};

}  // namespace

void ExecuteRun(service::Env& env, const domain::Run& run, const RunContext& ctx) {
  Execution execution(env, run, ctx);
  execution.Prepare();
  if (!execution.RunWorkflows()) return;  // the runner is stopping: its stop path fails the run
  execution.Finish();
}

}  // namespace kod::runner
