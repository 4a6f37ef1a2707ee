#include "fcgi/render.h"

#include "lib/service/repos.h"

namespace kod::fcgi {
namespace {
Json::Value Strings(const std::vector<std::string>& items) {
  Json::Value arr(Json::arrayValue);
  for (const auto& s : items) arr.append(s);
  return arr;
}
Json::Value Ms(int64_t v) { return Json::Value(static_cast<Json::Int64>(v)); }
Json::Value Int(int64_t v) { return Json::Value(static_cast<Json::Int64>(v)); }
}  // namespace

Json::Value RepoJson(const Config& config, const domain::Repo& repo) {
  Json::Value v(Json::objectValue);
  v["name"] = repo.name;
  v["createdAt"] = Ms(repo.created_at);
  v["path"] = service::RepoPath(config, repo.name);
  v["ownerTokenId"] = repo.owner_token_id;
  return v;
}

Json::Value RepoDetailsJson(const Config& config, const domain::RepoDetails& d) {
  Json::Value v = RepoJson(config, d.repo);
  v["branches"] = Strings(d.branches);
  v["defaultBranch"] = d.default_branch;
  v["collaborators"] = Strings(d.collaborators);
  return v;
}

Json::Value TokenJson(const domain::Token& t) {
  Json::Value v(Json::objectValue);
  v["id"] = t.id;
  v["name"] = t.name;
  v["createdAt"] = Ms(t.created_at);
  if (t.last_used_at) v["lastUsedAt"] = Ms(*t.last_used_at);
  if (t.expires_at) v["expiresAt"] = Ms(*t.expires_at);
  if (t.username) v["username"] = *t.username;
  v["permissions"] = Strings(t.permissions);
  return v;
}

Json::Value RunJson(const domain::Run& run) {
  Json::Value v(Json::objectValue);
  v["id"] = run.id;
  v["repoName"] = run.repo_name;
  v["branch"] = run.branch;
  v["commit"] = run.commit;
  v["trigger"] = domain::RunTriggerName(run.trigger);
  v["status"] = domain::RunStatusName(run.status);
  v["createdAt"] = Ms(run.created_at);
  if (run.started_at) v["startedAt"] = Ms(*run.started_at);
  if (run.completed_at) v["completedAt"] = Ms(*run.completed_at);
  if (run.rerun_of) v["rerunOf"] = *run.rerun_of;
  if (domain::IsFinished(run.status) || !run.steps.empty()) {
    Json::Value result(Json::objectValue);
    if (run.success) result["success"] = *run.success;
    if (run.duration_ms) result["duration"] = Ms(*run.duration_ms);
    Json::Value steps(Json::arrayValue);
    for (const domain::StepResult& s : run.steps) {
      Json::Value step(Json::objectValue);
      step["name"] = s.name;
      step["success"] = s.success;
      step["output"] = s.output;
      step["duration"] = Ms(s.duration_ms);
      if (s.error) step["error"] = *s.error;
      if (s.skipped) step["skipped"] = true;
      if (s.running) step["running"] = true;
      if (s.output_truncated) step["outputTruncated"] = true;
      if (s.resources) {
        Json::Value res(Json::objectValue);
        res["cpuMs"] = Int(s.resources->cpu_ms);
        res["maxRssKb"] = Int(s.resources->max_rss_kb);
        res["outputBytes"] = Int(s.resources->output_bytes);
        step["resources"] = res;
      }
      steps.append(step);
    }
    result["steps"] = steps;
    v["result"] = result;
  }
  return v;
}

Json::Value RunnerJson(const domain::RunnerInfo& r) {
  Json::Value v(Json::objectValue);
  v["id"] = r.id;
  v["host"] = r.host;
  v["startedAt"] = Ms(r.started_at);
  v["lastSeenAt"] = Ms(r.last_seen_at);
  v["capacity"] = r.capacity;
  v["busy"] = r.busy;
  return v;
}

Json::Value CollaboratorsJson(const std::string& repo_name, const std::vector<std::string>& usernames) {
  Json::Value v(Json::objectValue);
  v["repoName"] = repo_name;
  v["collaborators"] = Strings(usernames);
  return v;
}

Json::Value SecretJson(const std::string& repo_name, const domain::SecretMeta& s) {
  Json::Value v(Json::objectValue);
  v["name"] = s.name;
  v["repoName"] = repo_name;
  v["createdAt"] = Ms(s.created_at);
  v["updatedAt"] = Ms(s.updated_at);
  return v;
}

}  // namespace kod::fcgi
