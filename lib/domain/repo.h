// Domain value types of repositories: what stores fill, services return and handlers render.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kod::domain {

/// A repository. `id` is stable across renames: collaborators, secrets and runs hang off it.
struct Repo {
  int64_t id = 0;
  std::string name;            // validated by names::IsValidRepoName
  std::string owner_token_id;  // the token that created it (the owner rule, docs/api.md)
  int64_t created_at = 0;      // epoch ms
};

/// A repository with what `GET /repos/:name` adds: its branches and HEAD (read from the bare
/// repository) and its collaborators.
struct RepoDetails {
  Repo repo;
  std::vector<std::string> branches;       // short names, sorted
  std::string default_branch;              // what HEAD points at
  std::vector<std::string> collaborators;  // usernames, sorted
};

}  // namespace kod::domain
