// JSON shapes of docs/api.md: Repo, Token, Run, Secret. Unset optional fields are absent, never null.
#pragma once

#include <json/json.h>

#include "lib/core/config.h"
#include "lib/domain/repo.h"
#include "lib/domain/run.h"
#include "lib/domain/secret.h"
#include "lib/domain/token.h"

namespace kod::fcgi {

Json::Value RepoJson(const Config& config, const domain::Repo& repo);
Json::Value RepoDetailsJson(const Config& config, const domain::RepoDetails& d);
Json::Value TokenJson(const domain::Token& t);
/// A run; `result` once it has finished or has steps.
Json::Value RunJson(const domain::Run& run);
/// A runner's liveness: id, host, startedAt, lastSeenAt, capacity, busy.
Json::Value RunnerJson(const domain::RunnerInfo& runner);
/// `{"repoName", "collaborators": [usernames]}`.
Json::Value CollaboratorsJson(const std::string& repo_name, const std::vector<std::string>& usernames);
Json::Value SecretJson(const std::string& repo_name, const domain::SecretMeta& s);

}  // namespace kod::fcgi
