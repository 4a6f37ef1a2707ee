// RepoStore and CollaboratorStore: the `repos` and `collaborators` tables. SQL only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/db/db.h"
#include "lib/domain/repo.h"

namespace kod::store {

/// All methods throw db::SqlError on database errors.
class RepoStore {
 public:
  explicit RepoStore(db::Session& s) : s_(s) {}
  /// Inserts a row; returns its id, or nullopt when the name is taken (unique index, no race).
  std::optional<int64_t> Insert(const std::string& name, const std::string& owner_token_id, int64_t created_at);
  /// The repository named `name` with its collaborators (sorted), in one round trip: every
  /// repository-scoped request needs both for the visibility rule.
  std::optional<std::pair<domain::Repo, std::vector<std::string>>> FindByNameWithCollaborators(const std::string& name);
  /// The repository named `name` (without collaborators), taking its row lock (SELECT … FOR
  /// UPDATE): call inside a transaction.
  std::optional<domain::Repo> LockByName(const std::string& name);
  std::optional<domain::Repo> FindById(int64_t id);
  /// Every repository, in name order.
  std::vector<domain::Repo> List();
  /// The repositories a linked token may see, in name order: owned by `owner_token_id` or having
  /// `username` as a collaborator.
  std::vector<domain::Repo> ListVisibleTo(const std::string& owner_token_id, const std::string& username);
  /// One page of List() (`limit` rows after `offset`), and the number of all rows.
  std::vector<domain::Repo> ListPage(int64_t offset, int limit);
  int64_t Count();
  /// One page of ListVisibleTo(), and the size of the whole of it.
  std::vector<domain::Repo> ListVisibleToPage(const std::string& owner_token_id, const std::string& username,
                                              int64_t offset, int limit);
  int64_t CountVisibleTo(const std::string& owner_token_id, const std::string& username);
  /// False when `new_name` is taken.
  bool Rename(int64_t id, const std::string& new_name);
  bool Delete(int64_t id);

 private:
  db::Session& s_;
};

class CollaboratorStore {
 public:
  explicit CollaboratorStore(db::Session& s) : s_(s) {}
  /// False when already a collaborator.
  bool Add(int64_t repo_id, const std::string& username, int64_t now);
  /// False when not a collaborator.
  bool Remove(int64_t repo_id, const std::string& username);
  /// True if `username` is a collaborator on at least one repository (docs/api.md#tokens).
  bool ExistsAnywhere(const std::string& username);

 private:
  db::Session& s_;
};

}  // namespace kod::store
