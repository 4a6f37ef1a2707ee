// kod-hook: git's post-receive hook for every Kod repository (enabled through core.hooksPath by
// the smart-HTTP bridge). Reads "<old> <new> <ref>" lines (githooks(5) post-receive) and hands
// them to service::AfterPush (HEAD of a new repository, push runs, the push event); what it
// prints reaches the pusher as "remote:" lines.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "lib/core/config.h"
#include "lib/core/log.h"
#include "lib/git/repository.h"
#include "lib/service/env.h"
#include "lib/service/push.h"
#include "lib/service/repos.h"

int main(int argc, char** argv) {
  kod::log::SetProgram("kod-hook");
  kod::service::PushReport push;
  for (std::string line; std::getline(std::cin, line);) {
    std::istringstream in(line);
    kod::service::RefUpdate u;
    if (in >> u.old_oid >> u.new_oid >> u.ref) push.updates.push_back(u);
  }
  const char* repo_id = std::getenv("KOD_HOOK_REPO_ID");
  const char* repo_name = std::getenv("KOD_HOOK_REPO_NAME");
  if (repo_id == nullptr || repo_name == nullptr) return 0;  // not pushed through Kod: nothing to do
  // A missing file is not an error here: the bridge passes the settings the hook needs in its
  // environment.
  auto config = kod::LoadConfig(kod::ConfigPath(argc, argv, nullptr), /*must_exist=*/false, kod::ExecutableDir());
  if (!config.ok()) {
    std::printf("Kod: workflow runs not queued: %s\n", config.status().message.c_str());
    return 0;
  }
  kod::log::SetLevel(config->log_level);
  kod::service::OwnedEnv env(*config, nullptr);
  push.repo_id = std::atoll(repo_id);
  push.repo_name = repo_name;
  // The bridge runs git http-backend with REMOTE_USER = the pushing token's id.
  if (const char* token = std::getenv("REMOTE_USER"); token != nullptr && *token != '\0') push.pusher.token_id = token;
  for (const std::string& l : kod::service::AfterPush(env.env(), push)) std::printf("%s\n", l.c_str());
  // Keep reads of the branch list to one file (GET /repos/:name, bench/api).
  if (kod::Status s = kod::git::PackRefs(kod::service::RepoPath(*config, repo_name)); !s.ok())
    kod::log::Warn("pack refs: " + s.message);
  return 0;
}
