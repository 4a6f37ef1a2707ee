// kod-hook: git's post-receive hook for every Kod repository (enabled through core.hooksPath by
// the smart-HTTP bridge). Reads "<old> <new> <ref>" lines (githooks(5) post-receive) and queues a
// push-triggered workflow run per updated branch that has .kod/workflows/*.toml (docs/api.md#workflow-runs);
// what it prints reaches the pusher as "remote:" lines.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "lib/core/config.h"
#include "lib/core/log.h"
#include "lib/git/repository.h"
#include "lib/service/env.h"
#include "lib/service/repos.h"
#include "lib/service/runs.h"

int main(int argc, char** argv) {
  kod::log::SetProgram("kod-hook");
  std::vector<kod::service::RefUpdate> updates;
  for (std::string line; std::getline(std::cin, line);) {
    std::istringstream in(line);
    kod::service::RefUpdate u;
    if (in >> u.old_oid >> u.new_oid >> u.ref) updates.push_back(u);
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
  auto lines = kod::service::QueuePushRuns(env.env(), std::atoll(repo_id), repo_name, updates);
  if (!lines.ok()) {
    std::printf("Kod: workflow runs not queued: %s\n", lines.status().message.c_str());
    return 0;
  }
  for (const std::string& l : *lines) std::printf("%s\n", l.c_str());
  // Keep reads of the branch list to one file (GET /repos/:name, bench/api).
  if (kod::Status s = kod::git::PackRefs(kod::service::RepoPath(*config, repo_name)); !s.ok())
    kod::log::Warn("pack refs: " + s.message);
  return 0;
}
