// Domain value types of workflow runs: a Run with its status and trigger as enums, its steps'
// results, and the one place their names (API fields, database columns) are spelled.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kod::domain {

/// Where a run is in its life: queued → running → completed | failed, or cancelled (from queued
/// or running).
enum class RunStatus { Queued, Running, Completed, Failed, Cancelled };

/// What queued the run: `POST /repos/:name/workflows` (Api), a push (Push), or
/// `POST .../rerun` (Rerun).
enum class RunTrigger { Api, Push, Rerun };

/// "queued", "running", "completed", "failed": the API's `status` and the column's value.
const char* RunStatusName(RunStatus status);
/// The status named `name` exactly, or nullopt.
std::optional<RunStatus> ParseRunStatus(std::string_view name);
/// "api", "push": the API's `trigger` and the column's value.
const char* RunTriggerName(RunTrigger trigger);
/// The trigger named `name` exactly, or nullopt.
std::optional<RunTrigger> ParseRunTrigger(std::string_view name);
/// True for a status a run never leaves (it has a result: success, duration, steps).
bool IsFinished(RunStatus status);

/// What a finished step used: every process it started, orphans included.
struct StepResources {
  int64_t cpu_ms = 0;        // user + system CPU time, milliseconds
  int64_t max_rss_kb = 0;    // the largest resident set among its processes, KiB
  int64_t output_bytes = 0;  // bytes it wrote to stdout and stderr, before masking and capping
};

/// One step's recorded result (the API's `result.steps[]`).
struct StepResult {
  std::string name;
  bool success = false;
  bool skipped = false;               // skipped by its `if:` (then success is true)
  bool running = false;               // the step is still running: `output` is what it has so far
  std::string output;                 // masked, valid UTF-8, at most 1 MiB (head, marker, tail)
  /// `output` is only the end of what was stored (a run list, or a run whose JSON would pass
  /// limits::kMaxRunJsonBytes); the whole text is in the run's log.
  bool output_truncated = false;
  std::optional<std::string> error;   // why it failed ("Exit code: 1", "Timed out after 5s", …)
  int64_t duration_ms = 0;
  std::optional<StepResources> resources;  // finished steps that ran commands
};

/// A runner as its heartbeat last described it (GET /workflows/status).
struct RunnerInfo {
  std::string id;          // its instance id: "<host>/<pid>/<nonce>"
  std::string host;
  int64_t started_at = 0;  // epoch ms
  int64_t last_seen_at = 0;
  int capacity = 0;        // runs it executes at once at most
  int busy = 0;            // runs it is executing
};

/// Who sees which repositories' runs: everything (admins, tokens without a username), or the
/// repositories `owner_token_id` owns and those `username` collaborates on.
struct RepoScope {
  bool all = true;
  std::string owner_token_id, username;
};

/// A workflow run, pinned to one commit.
struct Run {
  int64_t seq = 0;             // internal order (newest = largest)
  std::string id;              // public id, 12 chars [a-z0-9]
  int64_t repo_id = 0;
  std::string repo_name;       // the repository's name when read (joined, not stored)
  std::string branch;
  std::string commit;          // 40 hex
  RunTrigger trigger = RunTrigger::Api;
  /// The workflow files to run (names inside .kod/workflows/, e.g. "ci.toml"), or nullopt for
  /// every *.toml there at the commit.
  std::optional<std::vector<std::string>> files;
  RunStatus status = RunStatus::Queued;
  std::string runner_id;       // the runner that claimed it; empty while queued
  std::optional<std::string> rerun_of;  // the run this one repeats (trigger Rerun)
  int64_t created_at = 0;      // epoch ms, like the other times
  std::optional<int64_t> started_at, completed_at;
  std::optional<bool> success;
  std::optional<int64_t> duration_ms;
  std::vector<StepResult> steps;  // filled by reads of one run or a list, not by claims or scans
};

}  // namespace kod::domain
