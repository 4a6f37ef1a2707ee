// Handlers of the JSON API (docs/api.md): health, tokens, repositories, collaborators, secrets, runs.
#include <json/json.h>

#include <cerrno>
#include <cstdlib>

#include "fcgi/handlers/fields.h"
#include "fcgi/handlers/handlers.h"
#include "fcgi/paging.h"
#include "fcgi/render.h"
#include "lib/core/limits.h"
#include "lib/service/repos.h"
#include "lib/service/runs.h"
#include "lib/service/secrets.h"
#include "lib/service/tokens.h"

namespace kod::fcgi::handlers {
namespace {

// The body as a JSON object (413, 400 "Invalid JSON body", 400 not an object).
Result<Json::Value> ObjectBody(Request& rq) {
  auto body = rq.JsonBody();
  if (!body.ok()) return body.status();
  if (Status s = RequireObject(*body); !s.ok()) return s;
  return *body;
}

// The string `field` of the JSON object body (413/400 for the body, 400 "<field> must be a
// string"), or 400 "<field> is required" when it is absent, or empty unless `allow_empty`.
Result<std::string> RequiredString(Request& rq, const char* field, bool allow_empty) {
  auto body = ObjectBody(rq);
  if (!body.ok()) return body.status();
  auto value = StringField(*body, field);
  if (!value.ok()) return value.status();
  if (!*value || (!allow_empty && (*value)->empty())) return InvalidArgument(std::string(field) + " is required");
  return **value;
}

// PATCH /repos/:name: {"name"?: string, "defaultBranch"?: string}.
Result<service::RepoPatch> ParseRepoPatch(Request& rq) {
  auto body = ObjectBody(rq);
  if (!body.ok()) return body.status();
  service::RepoPatch patch;
  auto name = StringField(*body, "name");
  if (!name.ok()) return name.status();
  patch.name = *name;
  auto branch = StringField(*body, "defaultBranch");
  if (!branch.ok()) return branch.status();
  patch.default_branch = *branch;
  return patch;
}

Result<service::RepoRef> Repo(Request& rq) { return service::ResolveRepo(rq.env(), rq.principal(), rq.Arg("name")); }

}  // namespace

Status Health(Request& rq, Response& rs) {
  // docs/api.md#health: cheap; the database check may be reused for up to 1 s (the service does).
  const bool healthy = service::DatabaseReachable(rq.env());
  // Both answers are constant: rendered once per worker, not per request (bench/api).
  static const std::string kOk = [] {
    Response r;
    Json::Value v(Json::objectValue);
    v["status"] = "ok";
    r.Json(200, v);
    return r.body;
  }();
  static const std::string kDown = [] {
    Response r;
    Json::Value v(Json::objectValue);
    v["status"] = "unavailable";
    v["error"] = "database unreachable";
    r.Json(503, v);
    return r.body;
  }();
  if (healthy) rs.RawJson(200, kOk);
  else rs.RawJson(503, kDown);
  return Status::Ok();
}

Status GetLimits(Request&, Response& rs) {
  // The constants the code enforces (lib/core/limits.h), never copies of their values.
  Json::Value v(Json::objectValue);
  v["maxBodyBytes"] = static_cast<Json::UInt64>(limits::kMaxBodyBytes);
  v["maxSecretBytes"] = static_cast<Json::UInt64>(limits::kMaxSecretBytes);
  v["maxStepOutputBytes"] = static_cast<Json::UInt64>(limits::kMaxStepOutputBytes);
  v["maxRunJsonBytes"] = static_cast<Json::UInt64>(limits::kMaxRunJsonBytes);
  v["repoNamePattern"] = limits::kRepoNamePattern;
  v["secretNamePattern"] = limits::kSecretNamePattern;
  v["maxSecretNameLength"] = static_cast<Json::UInt64>(limits::kSecretNameMaxLength);
  v["maxTokenNameLength"] = static_cast<Json::UInt64>(limits::kMaxTokenNameLength);
  v["workflowTimeoutDefaultS"] = limits::kWorkflowTimeoutDefaultS;
  v["perPageMax"] = limits::kPerPageMax;
  v["runListLimitMax"] = limits::kRunListLimitMax;
  rs.Json(200, v);
  return Status::Ok();
}

// ---- tokens (admin only; the dispatcher checked it)

Status ListTokens(Request& rq, Response& rs) {
  auto page = ParsePageRequest(rq);
  if (!page.ok()) return page.status();
  if (*page) {
    auto paged = service::ListTokensPage(rq.env(), **page);
    if (!paged.ok()) return paged.status();
    Json::Value arr(Json::arrayValue);
    for (const auto& t : paged->items) arr.append(TokenJson(t));
    rs.Json(200, arr);
    AddPageHeaders(rq, rs, **page, paged->total);
    return Status::Ok();
  }
  auto tokens = service::ListTokens(rq.env());
  if (!tokens.ok()) return tokens.status();
  Json::Value arr(Json::arrayValue);
  for (const auto& t : *tokens) arr.append(TokenJson(t));
  rs.Json(200, arr);
  return Status::Ok();
}

Status CreateToken(Request& rq, Response& rs) {
  auto body = ObjectBody(rq);
  if (!body.ok()) return body.status();
  service::NewToken req;
  auto name = StringField(*body, "name");
  if (!name.ok()) return name.status();
  if (!*name) return InvalidArgument("name is required");
  req.name = **name;
  auto perms = StringArrayField(*body, "permissions");
  if (!perms.ok()) return InvalidArgument("permissions must be an array of permission names");
  req.permissions = *perms;
  auto days = IntegerField(*body, "expiresInDays");
  if (!days.ok()) return InvalidArgument(service::kExpiresInDaysRule);
  req.expires_in_days = *days;
  auto user = StringField(*body, "username");
  if (!user.ok()) return user.status();
  req.username = *user;
  auto created = service::CreateToken(rq.env(), req);
  if (!created.ok()) return created.status();
  Json::Value v = TokenJson(created->token);
  v.removeMember("createdAt");
  v["token"] = created->value;
  v["message"] = "Save this token - it will not be shown again";
  rs.Json(201, v);
  return Status::Ok();
}

Status DeleteToken(Request& rq, Response& rs) {
  if (Status s = service::DeleteToken(rq.env(), rq.principal(), rq.Arg("id")); !s.ok()) return s;
  rs.Empty(204);
  return Status::Ok();
}

// ---- repositories

Status ListRepos(Request& rq, Response& rs) {
  auto page = ParsePageRequest(rq);
  if (!page.ok()) return page.status();
  // The service keeps the rendered body per visibility and page (lib/cache/cache.h).
  const Config& config = rq.env().config;
  auto list = service::RenderedRepoList(rq.env(), rq.principal(), *page, [&](const std::vector<domain::Repo>& repos) {
    Json::Value arr(Json::arrayValue);
    for (const auto& r : repos) arr.append(RepoJson(config, r));
    Response rendered;
    rendered.Json(200, arr);
    return std::move(rendered.body);
  });
  if (!list.ok()) return list.status();
  rs.RawJson(200, std::move(list->body));
  if (*page) AddPageHeaders(rq, rs, **page, list->total);
  return Status::Ok();
}

Status CreateRepo(Request& rq, Response& rs) {
  auto body = ObjectBody(rq);
  if (!body.ok()) return body.status();
  auto name = StringField(*body, "name");
  if (!name.ok()) return name.status();
  if (!*name || (*name)->empty()) return InvalidArgument("name is required");
  auto repo = service::CreateRepo(rq.env(), rq.principal(), **name);
  if (!repo.ok()) return repo.status();
  rs.Json(201, RepoJson(rq.env().config, *repo));
  return Status::Ok();
}

Status GetRepo(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto details = service::GetRepoDetails(rq.env(), *ref);
  if (!details.ok()) return details.status();
  rs.Json(200, RepoDetailsJson(rq.env().config, *details));
  return Status::Ok();
}

Status UpdateRepo(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  // A parse error is the use case's to report: the owner rule comes first.
  auto details = service::UpdateRepo(rq.env(), *ref, ParseRepoPatch(rq));
  if (!details.ok()) return details.status();
  rs.Json(200, RepoDetailsJson(rq.env().config, *details));
  return Status::Ok();
}

Status DeleteRepo(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  if (Status s = service::DeleteRepo(rq.env(), *ref); !s.ok()) return s;
  rs.Empty(204);
  return Status::Ok();
}

// ---- collaborators (owner-only: the use cases apply the owner rule)

Status ListCollaborators(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto users = service::ListCollaborators(rq.env(), *ref);
  if (!users.ok()) return users.status();
  rs.Json(200, CollaboratorsJson(ref->repo.name, *users));
  return Status::Ok();
}

Status AddCollaborator(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  // A parse error is the use case's to report: the owner rule comes first.
  auto user = RequiredString(rq, "username", /*allow_empty=*/true);
  if (Status s = service::AddCollaborator(rq.env(), *ref, user); !s.ok()) return s;
  Json::Value v(Json::objectValue);
  v["repoName"] = ref->repo.name;
  v["username"] = *user;
  rs.Json(201, v);
  return Status::Ok();
}

Status RemoveCollaborator(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  if (Status s = service::RemoveCollaborator(rq.env(), *ref, rq.Arg("username")); !s.ok()) return s;
  rs.Empty(204);
  return Status::Ok();
}

// ---- secrets (read-type visibility, docs/access.md)

Status ListSecrets(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto secrets = service::ListSecrets(rq.env(), *ref);
  if (!secrets.ok()) return secrets.status();
  Json::Value arr(Json::arrayValue);
  for (const auto& s : *secrets) arr.append(SecretJson(ref->repo.name, s));
  rs.Json(200, arr);
  return Status::Ok();
}

Status PutSecret(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto body = ObjectBody(rq);
  if (!body.ok()) return body.status();
  const std::string& name = rq.Arg("secret");
  std::optional<std::string> value;
  if (body->isMember("value") && (*body)["value"].isString()) value = (*body)["value"].asString();
  auto masked = service::PutSecret(rq.env(), *ref, name, value ? &*value : nullptr);
  if (!masked.ok()) return masked.status();
  Json::Value v(Json::objectValue);
  v["name"] = name;
  v["repoName"] = ref->repo.name;
  v["message"] = "Secret saved";
  v["masked"] = *masked;
  rs.Json(200, v);
  return Status::Ok();
}

Status DeleteSecret(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  if (Status s = service::DeleteSecret(rq.env(), *ref, rq.Arg("secret")); !s.ok()) return s;
  rs.Empty(204);
  return Status::Ok();
}

// ---- workflow runs

Status TriggerRun(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto body = ObjectBody(rq);
  if (!body.ok()) return body.status();
  service::TriggerRequest req;
  auto branch = StringField(*body, "branch");
  if (!branch.ok()) return branch.status();
  req.branch = *branch;
  auto commit = StringField(*body, "commit");
  if (!commit.ok()) return commit.status();
  req.commit = *commit;
  auto files = StringArrayField(*body, "files");
  if (!files.ok()) return files.status();
  req.files = *files;
  auto run = service::TriggerRun(rq.env(), *ref, req);
  if (!run.ok()) return run.status();
  Json::Value v(Json::objectValue);
  v["id"] = run->id;
  v["status"] = domain::RunStatusName(run->status);
  rs.Json(202, v);
  return Status::Ok();
}

Status ListRuns(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto page = ParsePageRequest(rq);
  if (!page.ok()) return page.status();
  if (*page) {  // pages replace ?limit
    auto paged = service::ListRunsPage(rq.env(), *ref, **page);
    if (!paged.ok()) return paged.status();
    Json::Value arr(Json::arrayValue);
    for (const auto& r : paged->items) arr.append(RunJson(r));
    rs.Json(200, arr);
    AddPageHeaders(rq, rs, **page, paged->total);
    return Status::Ok();
  }
  int limit = limits::kRunListLimitDefault;
  if (auto raw = rq.QueryValue("limit")) {
    char* end = nullptr;
    long v = std::strtol(raw->c_str(), &end, 10);
    if (raw->empty() || *end != '\0' || v < 1 || v > limits::kRunListLimitMax)
      return InvalidArgument("limit must be an integer from 1 to " + std::to_string(limits::kRunListLimitMax));
    limit = static_cast<int>(v);
  }
  auto runs = service::ListRuns(rq.env(), *ref, limit);
  if (!runs.ok()) return runs.status();
  Json::Value arr(Json::arrayValue);
  for (const auto& r : *runs) arr.append(RunJson(r));
  rs.Json(200, arr);
  return Status::Ok();
}

// A query parameter that must be a whole number >= 0 (absent: `fallback`).
Result<uint64_t> NonNegative(Request& rq, const std::string& key, uint64_t fallback) {
  auto raw = rq.QueryValue(key);
  if (!raw) return fallback;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(raw->c_str(), &end, 10);
  if (raw->empty() || (*raw)[0] == '-' || *end != '\0' || errno == ERANGE)
    return InvalidArgument(key + " must be a non-negative integer");
  return static_cast<uint64_t>(v);
}

Status GetRunLog(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto offset = NonNegative(rq, "offset", 0);
  if (!offset.ok()) return offset.status();
  const std::string follow = rq.QueryValue("follow").value_or("0");
  if (follow != "0" && follow != "1") return InvalidArgument("follow must be 0 or 1");
  auto chunk = service::ReadRunLog(rq.env(), ref->repo.id, rq.Arg("id"), *offset, limits::kMaxLogChunkBytes);
  if (!chunk.ok()) return chunk.status();
  const bool all_sent = domain::IsFinished(chunk->status) && *offset + chunk->text.size() >= chunk->size;
  if (follow == "1" && !rs.head && !all_sent) {
    // Streamed by a thread of this worker's LogFollowers: the worker itself moves on at once.
    rs.status = 200;
    rs.follow = LogFollow{ref->repo.id, rq.Arg("id"), *offset, std::move(chunk->text), chunk->size, chunk->status};
    return Status::Ok();
  }
  rs.status = 200;
  rs.body = std::move(chunk->text);
  rs.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  rs.headers.emplace_back("X-Kod-Log-Size", std::to_string(chunk->size));
  rs.headers.emplace_back("X-Kod-Run-Status", domain::RunStatusName(chunk->status));
  return Status::Ok();
}

Status GetWorkflowStatus(Request& rq, Response& rs) {
  auto status = service::GetWorkflowStatus(rq.env(), rq.principal());
  if (!status.ok()) return status.status();
  Json::Value v(Json::objectValue);
  Json::Value summary(Json::objectValue);
  for (auto s : {domain::RunStatus::Queued, domain::RunStatus::Running, domain::RunStatus::Completed,
                 domain::RunStatus::Failed, domain::RunStatus::Cancelled})
    summary[domain::RunStatusName(s)] = 0;
  for (const auto& [s, n] : status->summary) summary[domain::RunStatusName(s)] = static_cast<Json::Int64>(n);
  v["summary"] = summary;
  Json::Value recent(Json::arrayValue);
  for (const domain::Run& r : status->recent) recent.append(RunJson(r));  // read without steps
  v["recent"] = recent;
  if (status->runners) {
    Json::Value runners(Json::arrayValue);
    for (const domain::RunnerInfo& r : *status->runners) runners.append(RunnerJson(r));
    v["runners"] = runners;
  }
  rs.Json(200, v);
  return Status::Ok();
}

Status CancelRun(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto run = service::CancelRun(rq.env(), *ref, rq.Arg("id"));
  if (!run.ok()) return run.status();
  rs.Json(202, RunJson(*run));
  return Status::Ok();
}

Status RerunRun(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto run = service::RerunRun(rq.env(), *ref, rq.Arg("id"));
  if (!run.ok()) return run.status();
  Json::Value v(Json::objectValue);
  v["id"] = run->id;
  v["status"] = domain::RunStatusName(run->status);
  rs.Json(202, v);
  return Status::Ok();
}

Status GetRun(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto run = service::GetRun(rq.env(), *ref, rq.Arg("id"));
  if (!run.ok()) return run.status();
  rs.Json(200, RunJson(*run));
  return Status::Ok();
}

}  // namespace kod::fcgi::handlers
