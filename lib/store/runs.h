// RunStore: the `workflow_runs` and `workflow_steps` tables: the queue, claims, results. SQL only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/db/db.h"
#include "lib/domain/run.h"

namespace kod::store {

/// All methods throw db::SqlError on database errors.
class RunStore {
 public:
  explicit RunStore(db::Session& s) : s_(s) {}
  /// Inserts `run` as queued (fills run.seq, sets run.status). `run.files` is stored as a JSON
  /// array of names (or NULL for every file); this store is the one place that writes and
  /// parses that column.
  void Insert(domain::Run& run);
  std::optional<domain::Run> Find(int64_t repo_id, const std::string& id);
  /// Newest first, at most `limit`.
  std::vector<domain::Run> List(int64_t repo_id, int limit);
  /// One page of the repository's runs, newest first (`limit` after `offset`), and their number.
  std::vector<domain::Run> ListPage(int64_t repo_id, int64_t offset, int limit);
  int64_t Count(int64_t repo_id);
  std::optional<domain::Run> FindBySeq(int64_t seq);

  /// Claims the oldest queued run of a repository that has no running run (docs/api.md#workflow-runs: one run
  /// per repository at a time, oldest first). Must run inside a transaction (READ COMMITTED):
  /// the repository row is locked FOR UPDATE, then the run is taken with a conditional UPDATE
  /// (`WHERE status='queued'`) so two runners never claim the same run. nullopt: nothing to do.
  /// started_at is read after the re-check, so it is never before the previous run's completed_at.
  std::optional<domain::Run> ClaimNext(const std::string& runner_id);
  /// Appends a step after the run's last one (its index is taken in the same statement, so
  /// the runner's executor and a reaper failing the run can both append without colliding).
  void AppendStep(int64_t run_seq, const domain::StepResult& step);
  /// Marks the run finished (`status`: completed or failed) if it is still running under
  /// `runner_id`. False when it was not (the reaper failed it first).
  bool Finish(int64_t run_seq, const std::string& runner_id, domain::RunStatus status, bool success,
              int64_t duration_ms, int64_t completed_at);
  /// heartbeat_at = now for every run `runner_id` is running.
  void Heartbeat(const std::string& runner_id, int64_t now);
  /// Running runs whose heartbeat is older than `before` (their runner died).
  std::vector<domain::Run> Stale(int64_t before);
  /// Running runs of `runner_id` (the runner's stop path fails them).
  std::vector<domain::Run> RunningOf(const std::string& runner_id);
  /// Every running run, whichever runner claimed it.
  std::vector<domain::Run> Running();
  /// Fails a running run that lost its runner: adds a step named `step_name` with `error`.
  /// Conditional on status='running' (and heartbeat_at < stale_before when given). True when
  /// this call failed it.
  bool FailAbandoned(int64_t run_seq, const std::string& step_name, const std::string& error, int64_t now,
                     std::optional<int64_t> stale_before);

 private:
  void LoadSteps(domain::Run& run);
  db::Session& s_;
};

}  // namespace kod::store
