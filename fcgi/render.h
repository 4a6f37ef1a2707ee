// JSON shapes of api.md: Repo, Token, Run, Secret. Unset optional fields are absent, never null.
#pragma once

#include <json/json.h>

#include "lib/service/repos.h"
#include "lib/store/runs.h"
#include "lib/store/secrets.h"
#include "lib/store/tokens.h"

namespace kod::fcgi {

Json::Value RepoJson(const Config& config, const store::Repo& repo);
Json::Value RepoDetailsJson(const Config& config, const service::RepoDetails& d);
Json::Value TokenJson(const store::Token& t);
Json::Value RunJson(const store::Run& run);
Json::Value SecretJson(const std::string& repo_name, const store::SecretMeta& s);

}  // namespace kod::fcgi
