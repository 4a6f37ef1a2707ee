#include "lib/store/runs.h"

#include <json/json.h>

#include <sstream>

#include "lib/core/clock.h"

namespace kod::store {

using domain::Run;
using domain::RunStatus;
using domain::StepResult;

namespace {

constexpr const char* kSelect =
    "SELECT r.seq, r.id, r.repo_id, p.name, r.branch, r.commit_sha, r.trigger_kind, r.files, r.status, "
    "r.created_at, r.started_at, r.completed_at, r.success, r.duration_ms, r.runner_id, r.rerun_of "
    "FROM workflow_runs r JOIN repos p ON p.id = r.repo_id ";

// A value this version does not know (a corrupt row, or one written by a newer version) is an
// error of the read, never a guess. Code -1: not a connection error, so it is not retried.
[[noreturn]] void Corrupt(const std::string& what) { throw db::SqlError(-1, "workflow_runs: " + what); }

// The `files` column: a JSON array of names, or NULL for every workflow file.
std::optional<std::string> FilesColumn(const std::optional<std::vector<std::string>>& files) {
  if (!files) return std::nullopt;
  Json::Value arr(Json::arrayValue);
  for (const auto& f : *files) arr.append(f);
  Json::StreamWriterBuilder w;
  w["indentation"] = "";
  return Json::writeString(w, arr);
}

std::optional<std::vector<std::string>> ParseFilesColumn(const std::optional<std::string>& column) {
  if (!column) return std::nullopt;
  Json::Value arr;
  Json::CharReaderBuilder b;
  std::string errs;
  std::istringstream in(*column);
  if (!Json::parseFromStream(b, in, &arr, &errs) || !arr.isArray()) Corrupt("stored file list is corrupt");
  std::vector<std::string> out;
  for (const auto& v : arr) {
    if (!v.isString()) Corrupt("stored file list is corrupt");
    out.push_back(v.asString());
  }
  return out;
}

Run Read(db::Rows& r) {
  Run run;
  run.seq = r.Int64(1);
  run.id = r.String(2);
  run.repo_id = r.Int64(3);
  run.repo_name = r.String(4);
  run.branch = r.String(5);
  run.commit = r.String(6);
  const std::string trigger = r.String(7);
  auto t = domain::ParseRunTrigger(trigger);
  if (!t) Corrupt("unknown trigger_kind '" + trigger + "'");
  run.trigger = *t;
  run.files = ParseFilesColumn(r.OptString(8));
  const std::string status = r.String(9);
  auto st = domain::ParseRunStatus(status);
  if (!st) Corrupt("unknown status '" + status + "'");
  run.status = *st;
  run.created_at = r.Int64(10);
  run.started_at = r.OptInt64(11);
  run.completed_at = r.OptInt64(12);
  if (auto s = r.OptInt64(13)) run.success = *s != 0;
  run.duration_ms = r.OptInt64(14);
  run.runner_id = r.OptString(15).value_or("");
  run.rerun_of = r.OptString(16);
  return run;
}

std::vector<Run> All(db::Rows r) {
  std::vector<Run> out;
  while (r.Next()) out.push_back(Read(r));
  return out;
}

}  // namespace

void RunStore::Insert(Run& run) {
  s_.Prepare("INSERT INTO workflow_runs (id, repo_id, branch, commit_sha, trigger_kind, files, status, created_at, "
             "rerun_of) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)")
      .Bind(run.id).Bind(run.repo_id).Bind(run.branch).Bind(run.commit).Bind(domain::RunTriggerName(run.trigger))
      .Bind(FilesColumn(run.files)).Bind(run.created_at).Bind(run.rerun_of).Exec();
  db::Rows r = s_.Prepare("SELECT LAST_INSERT_ID()").Query();
  r.Next();
  run.seq = r.Int64(1);
  run.status = RunStatus::Queued;
}

namespace {

// A cut output starts inside a UTF-8 sequence: drop that sequence's continuation bytes.
std::string_view FromSequenceStart(std::string_view s) {
  size_t k = 0;
  while (k < s.size() && k < 3 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) ++k;
  return s.substr(k);
}

}  // namespace

void RunStore::LoadSteps(Run& run, uint64_t output_tail) {
  db::Rows r = s_.Prepare("SELECT name, success, skipped, running, error, duration_ms, output_bytes, cpu_ms, max_rss_kb, "
                          "LENGTH(output), SUBSTRING(CAST(output AS BINARY), GREATEST(1, LENGTH(output) - ? + 1)) "
                          "FROM workflow_steps WHERE run_seq = ? ORDER BY idx")
                   .Bind(static_cast<int64_t>(output_tail)).Bind(run.seq).Query();
  while (r.Next()) {
    StepResult s;
    s.name = r.String(1);
    s.success = r.Int64(2) != 0;
    s.skipped = r.Int64(3) != 0;
    s.running = r.Int64(4) != 0;
    s.error = r.OptString(5);
    s.duration_ms = r.Int64(6);
    if (auto bytes = r.OptInt64(7))
      s.resources = domain::StepResources{r.OptInt64(8).value_or(0), r.OptInt64(9).value_or(0), *bytes};
    const auto size = static_cast<uint64_t>(r.Int64(10));
    s.output = r.String(11);
    if (size > output_tail) {
      s.output = std::string(FromSequenceStart(s.output));
      s.output_truncated = true;
    }
    run.steps.push_back(std::move(s));
  }
}

std::optional<Run> RunStore::Find(int64_t repo_id, const std::string& id, uint64_t output_tail) {
  auto run = FindHead(repo_id, id);
  if (run) LoadSteps(*run, output_tail);
  return run;
}

std::optional<Run> RunStore::FindHead(int64_t repo_id, const std::string& id) {
  db::Rows r = s_.Prepare(std::string(kSelect) + "WHERE r.id = ? AND r.repo_id = ?").Bind(id).Bind(repo_id).Query();
  if (!r.Next()) return std::nullopt;
  return Read(r);
}

std::optional<Run> RunStore::FindBySeq(int64_t seq) {
  db::Rows r = s_.Prepare(std::string(kSelect) + "WHERE r.seq = ?").Bind(seq).Query();
  if (!r.Next()) return std::nullopt;
  Run run = Read(r);
  LoadSteps(run, kWhole);
  return run;
}

std::vector<uint64_t> RunStore::StepOutputSizes(int64_t run_seq) {
  db::Rows r = s_.Prepare("SELECT LENGTH(output) FROM workflow_steps WHERE run_seq = ? ORDER BY idx").Bind(run_seq).Query();
  std::vector<uint64_t> out;
  while (r.Next()) out.push_back(static_cast<uint64_t>(r.Int64(1)));
  return out;
}

std::vector<domain::LogStep> RunStore::LogSteps(int64_t run_seq) {
  db::Rows r = s_.Prepare("SELECT idx, name, LENGTH(output), SUBSTRING(CAST(output AS BINARY), LENGTH(output), 1) "
                          "FROM workflow_steps WHERE run_seq = ? ORDER BY idx")
                   .Bind(run_seq).Query();
  std::vector<domain::LogStep> out;
  while (r.Next()) {
    domain::LogStep s;
    s.idx = static_cast<int>(r.Int64(1));
    s.name = r.String(2);
    s.output_bytes = static_cast<uint64_t>(r.Int64(3));
    s.ends_with_newline = r.String(4) == "\n";
    out.push_back(std::move(s));
  }
  return out;
}

std::string RunStore::StepOutputRange(int64_t run_seq, int idx, uint64_t offset, uint64_t length) {
  db::Rows r = s_.Prepare("SELECT SUBSTRING(CAST(output AS BINARY), ?, ?) FROM workflow_steps WHERE run_seq = ? AND idx = ?")
                   .Bind(static_cast<int64_t>(offset + 1)).Bind(static_cast<int64_t>(length)).Bind(run_seq).Bind(idx)
                   .Query();
  return r.Next() ? r.String(1) : std::string();
}

std::vector<Run> RunStore::List(int64_t repo_id, int limit, uint64_t output_tail) {
  db::Rows r = s_.Prepare(std::string(kSelect) + "WHERE r.repo_id = ? ORDER BY r.seq DESC LIMIT ?")
                   .Bind(repo_id).Bind(static_cast<int64_t>(limit)).Query();
  std::vector<Run> out = All(std::move(r));
  for (Run& run : out) LoadSteps(run, output_tail);
  return out;
}

std::vector<Run> RunStore::ListPage(int64_t repo_id, int64_t offset, int limit, uint64_t output_tail) {
  db::Rows r = s_.Prepare(std::string(kSelect) + "WHERE r.repo_id = ? ORDER BY r.seq DESC LIMIT ? OFFSET ?")
                   .Bind(repo_id).Bind(limit).Bind(offset).Query();
  std::vector<Run> out = All(std::move(r));
  for (Run& run : out) LoadSteps(run, output_tail);
  return out;
}

int64_t RunStore::Count(int64_t repo_id) {
  db::Rows r = s_.Prepare("SELECT COUNT(*) FROM workflow_runs WHERE repo_id = ?").Bind(repo_id).Query();
  r.Next();
  return r.Int64(1);
}

std::optional<Run> RunStore::ClaimNext(const std::string& runner_id) {
  // Candidates: the oldest queued run of each repository with nothing running, oldest first.
  db::Rows c = s_.Prepare(
                     "SELECT q.seq, q.repo_id FROM workflow_runs q "
                     "WHERE q.status = 'queued' "
                     "AND q.seq = (SELECT MIN(o.seq) FROM workflow_runs o WHERE o.repo_id = q.repo_id AND o.status = 'queued') "
                     "AND NOT EXISTS (SELECT 1 FROM workflow_runs x WHERE x.repo_id = q.repo_id AND x.status = 'running') "
                     "ORDER BY q.seq LIMIT 8")
                     .Query();
  std::vector<std::pair<int64_t, int64_t>> candidates;
  while (c.Next()) candidates.emplace_back(c.Int64(1), c.Int64(2));
  for (auto [seq, repo_id] : candidates) {
    // Serialise claims per repository, then re-check under the lock (READ COMMITTED sees the latest).
    db::Rows lock = s_.Prepare("SELECT id FROM repos WHERE id = ? FOR UPDATE").Bind(repo_id).Query();
    if (!lock.Next()) continue;
    db::Rows busy = s_.Prepare("SELECT 1 FROM workflow_runs WHERE repo_id = ? AND status = 'running' LIMIT 1")
                        .Bind(repo_id).Query();
    if (busy.Next()) continue;
    db::Rows older = s_.Prepare("SELECT MIN(seq) FROM workflow_runs WHERE repo_id = ? AND status = 'queued'")
                         .Bind(repo_id).Query();
    if (!older.Next() || older.IsNull(1) || older.Int64(1) != seq) continue;
    const int64_t now = NowMs();
    int won = s_.Prepare("UPDATE workflow_runs SET status = 'running', runner_id = ?, started_at = ?, heartbeat_at = ? "
                         "WHERE seq = ? AND status = 'queued'")
                  .Bind(runner_id).Bind(now).Bind(now).Bind(seq).Exec();
    if (won == 1) return FindBySeq(seq);
  }
  return std::nullopt;
}

int RunStore::AppendStep(int64_t run_seq, const StepResult& s, bool running) {
  for (int attempt = 0;; ++attempt) {
    try {
      s_.Prepare("INSERT INTO workflow_steps (run_seq, idx, name, success, skipped, running, output, error, duration_ms) "
                 "SELECT ?, COALESCE(MAX(idx), -1) + 1, ?, ?, ?, ?, ?, ?, ? FROM workflow_steps WHERE run_seq = ?")
          .Bind(run_seq).Bind(s.name).Bind(s.success).Bind(s.skipped).Bind(running).Bind(s.output).Bind(s.error)
          .Bind(s.duration_ms).Bind(run_seq).Exec();
      break;
    } catch (const db::SqlError& e) {
      if (e.code != db::kDuplicateKey || attempt == 2) throw;  // a concurrent append took that index
    }
  }
  db::Rows r = s_.Prepare("SELECT MAX(idx) FROM workflow_steps WHERE run_seq = ?").Bind(run_seq).Query();
  r.Next();
  return static_cast<int>(r.Int64(1));
}

int RunStore::StartStep(int64_t run_seq, const std::string& name) {
  StepResult s;
  s.name = name;
  return AppendStep(run_seq, s, /*running=*/true);
}

bool RunStore::AppendStepOutput(int64_t run_seq, int idx, uint64_t offset, std::string_view text) {
  if (s_.Prepare("UPDATE workflow_steps SET output = CONCAT(output, ?) "
                 "WHERE run_seq = ? AND idx = ? AND LENGTH(output) = ?")
          .Bind(text).Bind(run_seq).Bind(idx).Bind(static_cast<int64_t>(offset)).Exec() == 1)
    return true;
  // Not appended: either an earlier try of this append went through, or the offsets disagree.
  db::Rows r = s_.Prepare("SELECT LENGTH(output) FROM workflow_steps WHERE run_seq = ? AND idx = ?")
                   .Bind(run_seq).Bind(idx).Query();
  return r.Next() && static_cast<uint64_t>(r.Int64(1)) >= offset + text.size();
}

void RunStore::FinishStep(int64_t run_seq, int idx, const StepResult& s) {
  std::optional<int64_t> cpu, rss, bytes;
  if (s.resources) {
    cpu = s.resources->cpu_ms;
    rss = s.resources->max_rss_kb;
    bytes = s.resources->output_bytes;
  }
  s_.Prepare("UPDATE workflow_steps SET running = 0, success = ?, skipped = ?, error = ?, duration_ms = ?, "
             "output_bytes = ?, cpu_ms = ?, max_rss_kb = ? WHERE run_seq = ? AND idx = ?")
      .Bind(s.success).Bind(s.skipped).Bind(s.error).Bind(s.duration_ms).Bind(bytes).Bind(cpu).Bind(rss)
      .Bind(run_seq).Bind(idx).Exec();
}

bool RunStore::Finish(int64_t run_seq, const std::string& runner_id, RunStatus status, bool success,
                      int64_t duration_ms, int64_t completed_at) {
  return s_.Prepare("UPDATE workflow_runs SET status = ?, success = ?, duration_ms = ?, completed_at = ? "
                    "WHERE seq = ? AND status = 'running' AND runner_id = ?")
             .Bind(domain::RunStatusName(status)).Bind(success).Bind(duration_ms).Bind(completed_at).Bind(run_seq).Bind(runner_id)
             .Exec() == 1;
}

bool RunStore::CancelQueued(int64_t run_seq, int64_t now) {
  return s_.Prepare("UPDATE workflow_runs SET status = 'cancelled', success = 0, completed_at = ?, duration_ms = 0 "
                    "WHERE seq = ? AND status = 'queued'")
             .Bind(now).Bind(run_seq).Exec() == 1;
}

bool RunStore::RequestCancel(int64_t run_seq) {
  s_.Prepare("UPDATE workflow_runs SET cancel_requested = 1 WHERE seq = ? AND status = 'running'").Bind(run_seq).Exec();
  db::Rows r = s_.Prepare("SELECT 1 FROM workflow_runs WHERE seq = ? AND status = 'running'").Bind(run_seq).Query();
  return r.Next();
}

std::vector<std::string> RunStore::CancelRequested(const std::string& runner_id) {
  db::Rows r = s_.Prepare("SELECT id FROM workflow_runs WHERE runner_id = ? AND status = 'running' AND cancel_requested = 1")
                   .Bind(runner_id).Query();
  std::vector<std::string> out;
  while (r.Next()) out.push_back(r.String(1));
  return out;
}

int RunStore::CancelAllOf(int64_t repo_id, int64_t now) {
  s_.Prepare("UPDATE workflow_runs SET status = 'cancelled', success = 0, completed_at = ?, duration_ms = 0 "
             "WHERE repo_id = ? AND status = 'queued'")
      .Bind(now).Bind(repo_id).Exec();
  return s_.Prepare("UPDATE workflow_runs SET cancel_requested = 1 WHERE repo_id = ? AND status = 'running'")
             .Bind(repo_id).Exec();
}

bool RunStore::HasRunning(int64_t repo_id) {
  db::Rows r = s_.Prepare("SELECT 1 FROM workflow_runs WHERE repo_id = ? AND status = 'running' LIMIT 1").Bind(repo_id).Query();
  return r.Next();
}

int RunStore::PruneFinished(int64_t repo_id, int keep) {
  db::Rows r = s_.Prepare("SELECT seq FROM workflow_runs WHERE repo_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?")
                   .Bind(repo_id).Bind(keep - 1).Query();
  if (!r.Next()) return 0;  // no more than `keep` runs
  return s_.Prepare("DELETE FROM workflow_runs WHERE repo_id = ? AND seq < ? "
                    "AND status IN ('completed', 'failed', 'cancelled')")
      .Bind(repo_id).Bind(r.Int64(1)).Exec();
}

void RunStore::BeatRunner(const domain::RunnerInfo& r, int64_t forget_before) {
  s_.Prepare("INSERT INTO runners (id, host, started_at, last_seen_at, capacity, busy) VALUES (?, ?, ?, ?, ?, ?) "
             "ON DUPLICATE KEY UPDATE last_seen_at = VALUES(last_seen_at), capacity = VALUES(capacity), "
             "busy = VALUES(busy)")
      .Bind(r.id).Bind(r.host).Bind(r.started_at).Bind(r.last_seen_at).Bind(r.capacity).Bind(r.busy).Exec();
  s_.Prepare("DELETE FROM runners WHERE last_seen_at < ?").Bind(forget_before).Exec();
}

void RunStore::RemoveRunner(const std::string& id) {
  s_.Prepare("DELETE FROM runners WHERE id = ?").Bind(id).Exec();
}

std::vector<domain::RunnerInfo> RunStore::Runners() {
  db::Rows r = s_.Prepare("SELECT id, host, started_at, last_seen_at, capacity, busy FROM runners ORDER BY started_at, id")
                   .Query();
  std::vector<domain::RunnerInfo> out;
  while (r.Next())
    out.push_back({r.String(1), r.String(2), r.Int64(3), r.Int64(4), static_cast<int>(r.Int64(5)),
                   static_cast<int>(r.Int64(6))});
  return out;
}

namespace {
// The repositories of a scope, as a condition on workflow_runs r (two parameters unless all).
std::string ScopeWhere(const domain::RepoScope& scope) {
  if (scope.all) return " ";
  return " WHERE r.repo_id IN (SELECT id FROM repos WHERE owner_token_id = ? "
         "OR id IN (SELECT repo_id FROM collaborators WHERE username = ?)) ";
}
}  // namespace

std::vector<std::pair<RunStatus, int64_t>> RunStore::CountByStatus(const domain::RepoScope& scope) {
  db::Stmt st = s_.Prepare("SELECT r.status, COUNT(*) FROM workflow_runs r" + ScopeWhere(scope) + "GROUP BY r.status");
  if (!scope.all) st.Bind(scope.owner_token_id).Bind(scope.username);
  db::Rows r = st.Query();
  std::vector<std::pair<RunStatus, int64_t>> out;
  while (r.Next())
    if (auto s = domain::ParseRunStatus(r.String(1))) out.emplace_back(*s, r.Int64(2));
  return out;
}

std::vector<Run> RunStore::Recent(const domain::RepoScope& scope, int limit) {
  db::Stmt st = s_.Prepare(std::string(kSelect) + ScopeWhere(scope) + "ORDER BY r.seq DESC LIMIT ?");
  if (!scope.all) st.Bind(scope.owner_token_id).Bind(scope.username);
  st.Bind(limit);
  return All(st.Query());
}

void RunStore::Heartbeat(const std::string& runner_id, int64_t now) {
  s_.Prepare("UPDATE workflow_runs SET heartbeat_at = ? WHERE runner_id = ? AND status = 'running'")
      .Bind(now).Bind(runner_id).Exec();
}

std::vector<Run> RunStore::Stale(int64_t before) {
  return All(s_.Prepare(std::string(kSelect) + "WHERE r.status = 'running' AND r.heartbeat_at < ?").Bind(before).Query());
}

std::vector<Run> RunStore::RunningOf(const std::string& runner_id) {
  return All(s_.Prepare(std::string(kSelect) + "WHERE r.status = 'running' AND r.runner_id = ?").Bind(runner_id).Query());
}

std::vector<Run> RunStore::Running() {
  return All(s_.Prepare(std::string(kSelect) + "WHERE r.status = 'running'").Query());
}

bool RunStore::FailAbandoned(int64_t run_seq, const std::string& step_name, const std::string& error, int64_t now,
                             std::optional<int64_t> stale_before) {
  int n = stale_before
              ? s_.Prepare("UPDATE workflow_runs SET status = 'failed', success = 0, completed_at = ?, "
                           "duration_ms = ? - COALESCE(started_at, created_at) "
                           "WHERE seq = ? AND status = 'running' AND heartbeat_at < ?")
                    .Bind(now).Bind(now).Bind(run_seq).Bind(*stale_before).Exec()
              : s_.Prepare("UPDATE workflow_runs SET status = 'failed', success = 0, completed_at = ?, "
                           "duration_ms = ? - COALESCE(started_at, created_at) "
                           "WHERE seq = ? AND status = 'running'")
                    .Bind(now).Bind(now).Bind(run_seq).Exec();
  if (n != 1) return false;
  // The step it was running ends with the run (its output stays as far as it got).
  s_.Prepare("UPDATE workflow_steps SET running = 0 WHERE run_seq = ? AND running = 1").Bind(run_seq).Exec();
  StepResult s;
  s.name = step_name;
  s.error = error;
  AppendStep(run_seq, s);
  return true;
}

}  // namespace kod::store
