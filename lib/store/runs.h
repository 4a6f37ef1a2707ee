// RunStore: the `workflow_runs` and `workflow_steps` tables: the queue, claims, results. SQL only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "lib/db/db.h"
#include "lib/domain/run.h"
#include "lib/domain/run_output.h"

namespace kod::store {

/// All methods throw db::SqlError on database errors.
class RunStore {
 public:
  explicit RunStore(db::Session& s) : s_(s) {}
  /// Inserts `run` as queued (fills run.seq, sets run.status). `run.files` is stored as a JSON
  /// array of names (or NULL for every file); this store is the one place that writes and
  /// parses that column.
  void Insert(domain::Run& run);
  /// The run with its steps; each step's output cut to its last `output_tail` bytes (then
  /// output_truncated is set; the cut never splits a UTF-8 sequence).
  std::optional<domain::Run> Find(int64_t repo_id, const std::string& id, uint64_t output_tail = kWhole);
  /// Newest first, at most `limit`; outputs cut as in Find.
  std::vector<domain::Run> List(int64_t repo_id, int limit, uint64_t output_tail = kWhole);
  /// One page of the repository's runs, newest first (`limit` after `offset`), outputs cut as in
  /// Find, and their number.
  std::vector<domain::Run> ListPage(int64_t repo_id, int64_t offset, int limit, uint64_t output_tail = kWhole);
  int64_t Count(int64_t repo_id);
  std::optional<domain::Run> FindBySeq(int64_t seq);
  /// The run's seq and status, without its steps (nullopt: no such run in that repository).
  std::optional<domain::Run> FindHead(int64_t repo_id, const std::string& id);
  /// Byte sizes of the outputs of the run's steps, in order.
  std::vector<uint64_t> StepOutputSizes(int64_t run_seq);
  /// The log's pieces, in step order: each step's name, output size and last output byte.
  std::vector<domain::LogStep> LogSteps(int64_t run_seq);
  /// `length` bytes of step `idx`'s output from byte `offset` (fewer at its end).
  std::string StepOutputRange(int64_t run_seq, int idx, uint64_t offset, uint64_t length);

  static constexpr uint64_t kWhole = uint64_t{1} << 40;

  /// Claims the oldest queued run of a repository that has no running run (docs/api.md#workflow-runs: one run
  /// per repository at a time, oldest first). Must run inside a transaction (READ COMMITTED):
  /// the repository row is locked FOR UPDATE, then the run is taken with a conditional UPDATE
  /// (`WHERE status='queued'`) so two runners never claim the same run. nullopt: nothing to do.
  /// started_at is read after the re-check, so it is never before the previous run's completed_at.
  std::optional<domain::Run> ClaimNext(const std::string& runner_id);
  /// Appends a step after the run's last one (its index is taken in the same statement, so
  /// the runner's executor and a reaper failing the run can both append without colliding).
  /// Returns its index (run it in a transaction for the index to be this insert's).
  int AppendStep(int64_t run_seq, const domain::StepResult& step, bool running = false);
  /// Inserts step `name` after the run's last one as running, with no output yet; its index.
  int StartStep(int64_t run_seq, const std::string& name);
  /// Appends `text` to step `idx`'s output if the output is `offset` bytes long, so a retried
  /// append never adds its text twice. True when the output holds the text now (appended by
  /// this call or an earlier try); false when its length is neither (appends were lost).
  bool AppendStepOutput(int64_t run_seq, int idx, uint64_t offset, std::string_view text);
  /// Ends step `idx`: not running, and the result fields of `step` (its output is left as the
  /// appends made it).
  void FinishStep(int64_t run_seq, int idx, const domain::StepResult& step);
  /// Marks the run finished (`status`: completed or failed) if it is still running under
  /// `runner_id`. False when it was not (the reaper failed it first).
  bool Finish(int64_t run_seq, const std::string& runner_id, domain::RunStatus status, bool success,
              int64_t duration_ms, int64_t completed_at);
  /// Cancels a queued run (status cancelled, completed `now`). True when this call did it.
  bool CancelQueued(int64_t run_seq, int64_t now);
  /// Asks the runner of a running run to cancel it (cancel_requested). True when it is running.
  bool RequestCancel(int64_t run_seq);
  /// Ids of the runs `runner_id` is running whose cancel was asked.
  std::vector<std::string> CancelRequested(const std::string& runner_id);
  /// Cancels the repository's queued runs and asks its running ones to stop; how many run.
  int CancelAllOf(int64_t repo_id, int64_t now);
  /// Whether a run of the repository is running.
  bool HasRunning(int64_t repo_id);
  /// Deletes the repository's finished runs (and their steps) older than its `keep` newest runs.
  /// Returns how many went.
  int PruneFinished(int64_t repo_id, int keep);
  /// Upserts the runner's row (its heartbeat) and drops runners unseen since `forget_before`.
  void BeatRunner(const domain::RunnerInfo& runner, int64_t forget_before);
  void RemoveRunner(const std::string& id);
  std::vector<domain::RunnerInfo> Runners();
  /// Runs by status over the repositories of `scope`.
  std::vector<std::pair<domain::RunStatus, int64_t>> CountByStatus(const domain::RepoScope& scope);
  /// The `limit` newest runs of the repositories of `scope`, without steps.
  std::vector<domain::Run> Recent(const domain::RepoScope& scope, int limit);
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
  void LoadSteps(domain::Run& run, uint64_t output_tail);
  db::Session& s_;
};

}  // namespace kod::store
