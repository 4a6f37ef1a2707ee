// Executes one claimed workflow run: checkout, parse, steps, results (docs/api.md#workflow-runs, docs/workflows.md).
#pragma once

#include <functional>
#include <string>

#include "lib/domain/run.h"
#include "lib/service/env.h"

namespace kod::runner {

/// How this executor runs a run: its runner's id, the user its steps run as (uid/gid -1: the
/// runner's own), and whether the runner is stopping (then no further step starts and the run is
/// left to the runner's stop path, which fails it).
struct RunContext {
  std::string runner_id;
  int uid = -1;
  int gid = -1;
  std::function<bool()> stopping = [] { return false; };
  /// Whether the run with this id was asked to cancel: its current step is killed (SIGTERM, then
  /// SIGKILL after 5 s), fails with "Cancelled", no other starts, and the run ends cancelled.
  std::function<bool(const std::string&)> cancelled = [](const std::string&) { return false; };
};

/// Runs `run` (already claimed by `ctx.runner_id`, status running) to the end: checks out the
/// pinned commit into a fresh workspace (libgit2, no network), parses each workflow file (a parse
/// error fails the run with one step "Setup" whose error is "<file>:<line>: <problem>"), runs the
/// steps in order with the clean environment of docs/workflows.md plus the repository's secrets
/// (masked in output), records each step as it finishes, marks the run completed or failed, and
/// removes the workspace. Database errors while recording are logged; the reaper fails a run left
/// running.
void ExecuteRun(service::Env& env, const domain::Run& run, const RunContext& ctx);

}  // namespace kod::runner
