#include "lib/service/runs.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "lib/core/clock.h"
#include "lib/core/limits.h"
#include "lib/core/log.h"
#include "lib/core/names.h"
#include "lib/core/utf8.h"
#include "lib/core/wake.h"
#include "lib/crypto/random.h"
#include "lib/domain/run_output.h"
#include "lib/git/repository.h"
#include "lib/store/runs.h"
#include "lib/workflow/dialect.h"

namespace kod::service {
namespace {

bool IsHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// What a JSON answer may spend on step outputs: the limit, less room for everything else.
uint64_t OutputBudget(size_t steps) {
  constexpr uint64_t kFixed = 64 * 1024, kPerStep = 2048;  // metadata, names, errors
  const uint64_t reserve = kFixed + kPerStep * steps;
  return limits::kMaxRunJsonBytes > reserve ? limits::kMaxRunJsonBytes - reserve : 0;
}

// The outputs of a whole list (each already cut to its tail) under the JSON limit together.
void BoundList(std::vector<domain::Run>& runs) {
  std::vector<domain::StepResult> all;  // bound them as one, then put them back
  for (domain::Run& r : runs)
    for (domain::StepResult& s : r.steps) all.push_back(std::move(s));
  domain::BoundOutputsForJson(all, OutputBudget(all.size()));
  size_t k = 0;
  for (domain::Run& r : runs)
    for (domain::StepResult& s : r.steps) s = std::move(all[k++]);
}

Status InsertRun(Env& env, domain::Run& run) {
  return env.db.Run([&]() -> Status {
    for (int attempt = 0; attempt < 5; ++attempt) {
      run.id = crypto::NewId();
      try {
        store::RunStore(env.db).Insert(run);
        return Status::Ok();
      } catch (const db::SqlError& e) {
        if (e.code != db::kDuplicateKey) throw;
      }
    }
    return Internal("could not allocate a run id");
  });
}

}  // namespace

Result<domain::Run> TriggerRun(Env& env, const RepoRef& ref, const TriggerRequest& req) {
  const std::string path = RepoPath(env.config, ref.repo.name);
  std::string branch;
  if (req.branch) {
    branch = *req.branch;
  } else {
    auto head = git::DefaultBranch(path);
    if (!head.ok()) return head.status();
    branch = *head;
  }
  if (!names::IsValidBranchName(branch)) return InvalidArgument("Branch not found: " + branch);
  auto tip = git::BranchTip(path, branch);
  if (!tip.ok()) {
    if (tip.status().code == Code::NotFound) return InvalidArgument("Branch not found: " + branch);
    return tip.status();
  }
  std::string commit = *tip;
  if (req.commit) {
    if (req.commit->size() < 7 || req.commit->size() > 40 || !IsHex(*req.commit))
      return InvalidArgument("commit must be 7-40 hexadecimal digits");
    auto resolved = git::ResolveCommitOnBranch(path, branch, *req.commit);
    if (!resolved.ok()) {
      if (resolved.status().code == Code::Internal) return resolved.status();
      return InvalidArgument(resolved.status().message);
    }
    commit = *resolved;
  }
  std::vector<std::string> files;
  if (req.files) {
    for (const std::string& entry : *req.files) {
      auto name = workflow::NormalizeWorkflowPath(entry);
      if (!name.ok()) return name.status();
      files.push_back(*name);
    }
  } else {
    auto all = git::WorkflowFiles(path, commit);
    if (!all.ok()) return all.status();
    if (all->empty()) return InvalidArgument("No workflow files on " + branch);
    files = *all;
  }
  for (const std::string& f : files) {
    auto text = git::ReadBlob(path, commit, ".kod/workflows/" + f);
    if (!text.ok()) return text.status();
    if (!*text) return InvalidArgument("Workflow file not found: .kod/workflows/" + f);
    auto parsed = workflow::Parse(f, **text);
    if (!parsed.ok()) return InvalidArgument(parsed.status().message);
  }
  domain::Run run;
  run.repo_id = ref.repo.id;
  run.repo_name = ref.repo.name;
  run.branch = branch;
  run.commit = commit;
  run.trigger = domain::RunTrigger::Api;
  if (req.files) run.files = files;
  run.created_at = NowMs();
  if (Status s = InsertRun(env, run); !s.ok()) return s;
  WakeRunners(env.config);
  return run;
}

Result<std::vector<domain::Run>> ListRuns(Env& env, const RepoRef& ref, int limit) {
  auto runs = env.db.Get<std::vector<domain::Run>>([&]() -> Result<std::vector<domain::Run>> {
    return store::RunStore(env.db).List(ref.repo.id, limit, limits::kRunListOutputTailBytes);
  });
  if (runs.ok()) BoundList(*runs);
  return runs;
}

Result<domain::Page<domain::Run>> ListRunsPage(Env& env, const RepoRef& ref, const domain::PageRequest& p) {
  return env.db.Get<domain::Page<domain::Run>>([&]() -> Result<domain::Page<domain::Run>> {
    store::RunStore runs(env.db);
    domain::Page<domain::Run> out;
    out.items = runs.ListPage(ref.repo.id, p.Offset(), p.per_page, limits::kRunListOutputTailBytes);
    out.total = runs.Count(ref.repo.id);
    BoundList(out.items);
    return out;
  });
}

Result<domain::Run> GetRun(Env& env, const RepoRef& ref, const std::string& id) {
  if (!names::IsValidId(id)) return NotFound("Run not found");
  auto run = env.db.Get<domain::Run>([&]() -> Result<domain::Run> {
    store::RunStore runs(env.db);
    auto head = runs.FindHead(ref.repo.id, id);
    if (!head) return NotFound("Run not found");
    // Read no more than the JSON can carry: each step's last `cap` bytes.
    const std::vector<uint64_t> sizes = runs.StepOutputSizes(head->seq);
    auto run = runs.Find(ref.repo.id, id, domain::CapForTotal(sizes, OutputBudget(sizes.size())));
    if (!run) return NotFound("Run not found");
    return *run;
  });
  if (run.ok()) domain::BoundOutputsForJson(run->steps, OutputBudget(run->steps.size()));
  return run;
}

Result<domain::Run> CancelRun(Env& env, const RepoRef& ref, const std::string& id) {
  if (!names::IsValidId(id)) return NotFound("Run not found");
  bool wake = false;
  auto run = env.db.Get<domain::Run>([&]() -> Result<domain::Run> {
    store::RunStore runs(env.db);
    auto head = runs.FindHead(ref.repo.id, id);
    if (!head) return NotFound("Run not found");
    if (domain::IsFinished(head->status)) return Conflict("Run already finished");
    if (!runs.CancelQueued(head->seq, NowMs())) {
      if (!runs.RequestCancel(head->seq)) return Conflict("Run already finished");
      wake = true;
    }
    auto now = runs.Find(ref.repo.id, id, limits::kRunListOutputTailBytes);
    if (!now) return NotFound("Run not found");
    return *now;
  });
  if (wake) WakeRunners(env.config);  // the runner stops it without polling for cancels
  return run;
}

Result<domain::Run> RerunRun(Env& env, const RepoRef& ref, const std::string& id) {
  if (!names::IsValidId(id)) return NotFound("Run not found");
  auto old = env.db.Get<domain::Run>([&]() -> Result<domain::Run> {
    auto head = store::RunStore(env.db).FindHead(ref.repo.id, id);
    if (!head) return NotFound("Run not found");
    return *head;
  });
  if (!old.ok()) return old;
  domain::Run run;
  run.repo_id = ref.repo.id;
  run.repo_name = ref.repo.name;
  run.branch = old->branch;
  run.commit = old->commit;
  run.files = old->files;
  run.trigger = domain::RunTrigger::Rerun;
  run.rerun_of = old->id;
  run.created_at = NowMs();
  if (Status s = InsertRun(env, run); !s.ok()) return s;
  WakeRunners(env.config);
  return run;
}

Status StopRunsOf(Env& env, int64_t repo_id, int64_t wait_ms) {
  auto running = env.db.Get<int>([&]() -> Result<int> { return store::RunStore(env.db).CancelAllOf(repo_id, NowMs()); });
  if (!running.ok()) return running.status();
  if (*running == 0) return Status::Ok();
  WakeRunners(env.config);
  const int64_t give_up = MonotonicMs() + wait_ms;
  for (;;) {
    auto busy = env.db.Get<bool>([&]() -> Result<bool> { return store::RunStore(env.db).HasRunning(repo_id); });
    if (busy.ok() && !*busy) return Status::Ok();
    if (MonotonicMs() >= give_up) return Unavailable("A run of this repository is still stopping; try again shortly");
    usleep(100 * 1000);
  }
}

Result<WorkflowStatus> GetWorkflowStatus(Env& env, const auth::Principal& who) {
  constexpr int kRecent = 10;
  domain::RepoScope scope;  // the visibility rule of ListRepos
  if (who.username && !who.IsAdmin()) scope = {false, who.token_id, *who.username};
  return env.db.Get<WorkflowStatus>([&]() -> Result<WorkflowStatus> {
    store::RunStore runs(env.db);
    WorkflowStatus out;
    out.summary = runs.CountByStatus(scope);
    out.recent = runs.Recent(scope, kRecent);
    if (who.IsAdmin()) out.runners = runs.Runners();
    return out;
  });
}

Result<RunLogChunk> ReadRunLog(Env& env, int64_t repo_id, const std::string& id, uint64_t offset,
                               uint64_t max_bytes) {
  if (!names::IsValidId(id)) return NotFound("Run not found");
  return env.db.Get<RunLogChunk>([&]() -> Result<RunLogChunk> {
    store::RunStore runs(env.db);
    auto head = runs.FindHead(repo_id, id);
    if (!head) return NotFound("Run not found");
    RunLogChunk chunk;
    chunk.status = head->status;
    const std::vector<domain::LogPiece> pieces = domain::LayOutLog(runs.LogSteps(head->seq));
    chunk.size = domain::LogSize(pieces);
    const uint64_t end = std::min(chunk.size, offset + std::min<uint64_t>(max_bytes, chunk.size));
    for (const domain::LogPiece& p : pieces) {
      if (p.start + p.length <= offset || p.start >= end) continue;
      const uint64_t from = std::max(offset, p.start) - p.start;
      const uint64_t len = std::min(end, p.start + p.length) - p.start - from;
      chunk.text += p.header ? p.text.substr(from, len) : runs.StepOutputRange(head->seq, p.idx, from, len);
    }
    return chunk;
  });
}

namespace {

// Why `branch` cannot be a run's branch (workflow_runs.branch holds at most
// limits::kMaxRunBranchChars characters of UTF-8), or nullopt when it can.
std::optional<std::string> UnstorableBranch(const std::string& branch) {
  auto chars = utf8::Length(branch);
  if (!chars) return std::string("its name is not valid UTF-8");
  if (*chars > limits::kMaxRunBranchChars)
    return "its name is longer than " + std::to_string(limits::kMaxRunBranchChars) + " characters";
  return std::nullopt;
}

// A branch name fit for a "remote:" line: invalid bytes as U+FFFD, at most 80 characters.
std::string Shown(const std::string& branch) {
  std::string s = utf8::Sanitize(branch);
  auto chars = utf8::Length(s);
  if (chars && *chars > 80) {
    size_t i = 0;
    for (size_t n = 0; n < 77; ++n) {  // 77 code points, then "..."
      ++i;
      while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    }
    s = s.substr(0, i) + "...";
  }
  return s;
}

// What a branch update of a push led to: the line for the pusher, and whether a run was queued.
struct PushOutcome {
  std::string line;
  bool queued = false;
};

// Queues the push run of one branch update. The line says which run was queued, or why none
// could be (never a database message: those go to the log); nullopt when the commit has no
// workflow files.
std::optional<PushOutcome> QueueOnePushRun(Env& env, int64_t repo_id, const std::string& repo_name,
                                           const std::string& path, const RefUpdate& u) {
  const std::string branch = u.ref.substr(strlen("refs/heads/"));
  auto files = git::WorkflowFiles(path, u.new_oid);
  if (!files.ok()) {
    log::Error("push to " + repo_name + ": workflow files of " + Shown(branch) + ": " + files.status().message);
    return PushOutcome{"Kod: no workflow run for branch '" + Shown(branch) + "': its workflow files could not be read"};
  }
  if (files->empty()) return std::nullopt;
  if (auto why = UnstorableBranch(branch))
    return PushOutcome{"Kod: no workflow run for branch '" + Shown(branch) + "': " + *why};
  domain::Run run;
  run.repo_id = repo_id;
  run.repo_name = repo_name;
  run.branch = branch;
  run.commit = u.new_oid;
  run.trigger = domain::RunTrigger::Push;
  run.created_at = NowMs();
  if (Status s = InsertRun(env, run); !s.ok()) {
    log::Error("push to " + repo_name + ": run for " + Shown(branch) + " not queued: " + s.message);
    return PushOutcome{"Kod: workflow run for branch '" + Shown(branch) + "' not queued: " +
                       (s.code == Code::Unavailable ? "the database is unavailable"
                                                    : "an internal error (logged on the server)")};
  }
  return PushOutcome{"Kod: queued workflow run " + run.id + " for " + branch, true};
}

}  // namespace

Result<std::vector<std::string>> QueuePushRuns(Env& env, int64_t repo_id, const std::string& repo_name,
                                               const std::vector<RefUpdate>& updates) {
  static const std::string kZero(40, '0');
  const std::string path = RepoPath(env.config, repo_name);
  std::vector<std::string> lines;
  bool queued = false;
  // Each branch on its own: one that cannot be queued never costs the others their runs.
  for (const RefUpdate& u : updates) {
    if (u.ref.rfind("refs/heads/", 0) != 0 || u.new_oid == kZero) continue;
    auto outcome = QueueOnePushRun(env, repo_id, repo_name, path, u);
    if (!outcome) continue;
    queued = queued || outcome->queued;
    lines.push_back(std::move(outcome->line));
  }
  if (queued) WakeRunners(env.config);
  return lines;
}

void WakeRunners(const Config& config) { wake::All(config.wake_dir); }

}  // namespace kod::service
