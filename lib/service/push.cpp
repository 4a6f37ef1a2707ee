#include "lib/service/push.h"

#include "lib/core/log.h"
#include "lib/domain/branches.h"
#include "lib/git/repository.h"
#include "lib/service/repos.h"
#include "lib/service/webhooks.h"

namespace kod::service {
namespace {

const std::string kZeroOid(40, '0');
constexpr std::string_view kHeads = "refs/heads/";

// Branches the push created (short names).
std::vector<std::string> CreatedBranches(const std::vector<RefUpdate>& updates) {
  std::vector<std::string> out;
  for (const RefUpdate& u : updates)
    if (u.old_oid == kZeroOid && u.new_oid != kZeroOid && u.ref.rfind(kHeads, 0) == 0)
      out.push_back(u.ref.substr(kHeads.size()));
  return out;
}

// HEAD naming a branch that does not exist (an empty repository, or HEAD's branch deleted) moves
// to one the push created.
void MoveHeadIfUnborn(const Config& config, const std::string& path, const std::vector<RefUpdate>& updates) {
  const std::vector<std::string> created = CreatedBranches(updates);
  if (created.empty()) return;
  auto head = git::DefaultBranch(path);
  if (!head.ok()) return;
  auto tip = git::BranchTip(path, *head);
  if (tip.ok() || tip.status().code != Code::NotFound) return;
  auto chosen = domain::ChooseHeadBranch(config.default_branch, created);
  if (!chosen) return;
  if (Status s = git::SetHeadBranch(path, *chosen); !s.ok()) log::Error("set HEAD of " + path + ": " + s.message);
}

}  // namespace

std::vector<std::string> AfterPush(Env& env, const PushReport& push) {
  MoveHeadIfUnborn(env.config, RepoPath(env.config, push.repo_name), push.updates);
  std::vector<std::string> lines;
  auto runs = QueuePushRuns(env, push.repo_id, push.repo_name, push.updates);
  if (runs.ok()) lines = std::move(*runs);
  else lines.push_back("Kod: workflow runs not queued: " + runs.status().message);
  QueuePushEvent(env, push);
  return lines;
}

}  // namespace kod::service
