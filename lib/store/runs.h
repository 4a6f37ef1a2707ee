// RunStore: the `workflow_runs` and `workflow_steps` tables: the queue, claims, results. SQL only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/db/db.h"

namespace kod::store {

/// One step's recorded result (api.md Workflows `result.steps[]`, decisions.md §6).
struct StepResult {
  std::string name;
  bool success = false;
  bool skipped = false;
  std::string output;
  std::optional<std::string> error;
  int64_t duration_ms = 0;
};

/// A workflow run. `status`: queued → running → completed | failed.
struct Run {
  int64_t seq = 0;             // internal order (newest = largest)
  std::string id;              // public id, 12 chars [a-z0-9]
  int64_t repo_id = 0;
  std::string repo_name;       // filled by reads (joined), not stored
  std::string branch;
  std::string commit;          // 40 hex
  std::string trigger;         // "api" | "push"
  std::optional<std::string> files;  // JSON array of normalized file names, or null = all
  std::string status = "queued";
  int64_t created_at = 0;
  std::optional<int64_t> started_at, completed_at;
  std::optional<bool> success;
  std::optional<int64_t> duration_ms;
  std::vector<StepResult> steps;
};

/// All methods throw db::SqlError on database errors.
class RunStore {
 public:
  explicit RunStore(db::Session& s) : s_(s) {}
  /// Inserts a queued run (fills run.seq).
  void Insert(Run& run);
  std::optional<Run> Find(int64_t repo_id, const std::string& id);
  /// Newest first, at most `limit`.
  std::vector<Run> List(int64_t repo_id, int limit);
  std::optional<Run> FindBySeq(int64_t seq);

  /// Claims the oldest queued run of a repository that has no running run (decisions §6: one run
  /// per repository at a time, oldest first). Must run inside a transaction (READ COMMITTED):
  /// the repository row is locked FOR UPDATE, then the run is taken with a conditional UPDATE
  /// (`WHERE status='queued'`) so two runners never claim the same run. nullopt: nothing to do.
  /// started_at is read after the re-check, so it is never before the previous run's completed_at.
  std::optional<Run> ClaimNext(const std::string& runner_id);
  /// Appends a step after the run's last one (its index is taken in the same statement, so
  /// the runner's executor and a reaper failing the run can both append without colliding).
  void AppendStep(int64_t run_seq, const StepResult& step);
  /// Marks the run finished (completed/failed) if it is still running under `runner_id`.
  bool Finish(int64_t run_seq, const std::string& runner_id, const std::string& status, bool success,
              int64_t duration_ms, int64_t completed_at);
  /// heartbeat_at = now for every run `runner_id` is running.
  void Heartbeat(const std::string& runner_id, int64_t now);
  /// Running runs whose heartbeat is older than `before` (their runner died).
  std::vector<Run> Stale(int64_t before);
  /// Running runs of `runner_id` (used at start and on SIGTERM).
  std::vector<Run> RunningOf(const std::string& runner_id);
  /// Fails a running run that lost its runner: adds a step named `step_name` with `error`.
  /// Conditional on status='running' (and heartbeat_at <= stale_before when given).
  bool FailAbandoned(int64_t run_seq, const std::string& step_name, const std::string& error, int64_t now,
                     std::optional<int64_t> stale_before);

 private:
  void LoadSteps(Run& run);
  db::Session& s_;
};

}  // namespace kod::store
