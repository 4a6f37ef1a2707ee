#include "lib/service/runs.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/names.h"
#include "lib/crypto/random.h"
#include "lib/git/repository.h"
#include "lib/store/runs.h"
#include "lib/workflow/dialect.h"

namespace kod::service {
namespace {

bool IsHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
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
  return env.db.Get<std::vector<domain::Run>>(
      [&]() -> Result<std::vector<domain::Run>> { return store::RunStore(env.db).List(ref.repo.id, limit); });
}

Result<domain::Run> GetRun(Env& env, const RepoRef& ref, const std::string& id) {
  if (!names::IsValidId(id)) return NotFound("Run not found");
  return env.db.Get<domain::Run>([&]() -> Result<domain::Run> {
    auto run = store::RunStore(env.db).Find(ref.repo.id, id);
    if (!run) return NotFound("Run not found");
    return *run;
  });
}

Result<std::vector<std::string>> QueuePushRuns(Env& env, int64_t repo_id, const std::string& repo_name,
                                               const std::vector<RefUpdate>& updates) {
  static const std::string kZero(40, '0');
  const std::string path = RepoPath(env.config, repo_name);
  std::vector<std::string> lines;
  for (const RefUpdate& u : updates) {
    if (u.ref.rfind("refs/heads/", 0) != 0 || u.new_oid == kZero) continue;
    auto files = git::WorkflowFiles(path, u.new_oid);
    if (!files.ok()) return files.status();
    if (files->empty()) continue;
    domain::Run run;
    run.repo_id = repo_id;
    run.repo_name = repo_name;
    run.branch = u.ref.substr(strlen("refs/heads/"));
    run.commit = u.new_oid;
    run.trigger = domain::RunTrigger::Push;
    run.created_at = NowMs();
    if (Status s = InsertRun(env, run); !s.ok()) return s;
    lines.push_back("Kod: queued workflow run " + run.id + " for " + run.branch);
  }
  if (!lines.empty()) WakeRunners(env.config);
  return lines;
}

void WakeRunners(const Config& config) {
  std::error_code ec;
  std::filesystem::directory_iterator it(config.wake_dir, ec);
  if (ec) return;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  for (const auto& entry : it) {
    const std::string p = entry.path().string();
    if (entry.path().extension() != ".sock" || p.size() >= sizeof(sockaddr_un::sun_path)) continue;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
    const char byte = 'w';
    if (sendto(fd, &byte, 1, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 &&
        errno == ECONNREFUSED)
      std::filesystem::remove(entry.path(), ec);  // its runner is gone
  }
  close(fd);
}

}  // namespace kod::service
