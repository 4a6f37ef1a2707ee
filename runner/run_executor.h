// Executes one claimed workflow run: checkout, parse, steps, results (decisions.md §6–§8).
#pragma once

#include <string>

#include "lib/service/env.h"
#include "lib/store/runs.h"

namespace kod::runner {

/// Runs `run` (already claimed by `runner_id`, status running) to the end: checks out the pinned
/// commit into a fresh workspace (libgit2, no network), parses each workflow file (a parse error
/// fails the run with one step "Setup" whose error is "<file>:<line>: <problem>"), runs the steps
/// in order with the clean environment of decisions.md §7 plus the repository's secrets (masked in
/// output), records each step as it finishes, marks the run completed or failed, and removes the
/// workspace. Database errors while recording are logged; the reaper fails a run left running.
void ExecuteRun(service::Env& env, const store::Run& run, const std::string& runner_id);

}  // namespace kod::runner
