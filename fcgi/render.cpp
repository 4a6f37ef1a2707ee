#include "fcgi/render.h"

#include "lib/service/repos.h"
#include "lib/service/run_json.h"

namespace kod::fcgi {
namespace {
Json::Value Strings(const std::vector<std::string>& items) {
  Json::Value arr(Json::arrayValue);
  for (const auto& s : items) arr.append(s);
  return arr;
}
Json::Value Ms(int64_t v) { return Json::Value(static_cast<Json::Int64>(v)); }
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

Json::Value RunJson(const domain::Run& run) { return service::RunToJson(run, /*with_outputs=*/true); }

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
