#include "lib/store/repos.h"

namespace kod::store {

using domain::Repo;

namespace {
constexpr const char* kSelect = "SELECT id, name, owner_token_id, created_at FROM repos ";

Repo Read(db::Rows& r) { return Repo{r.Int64(1), r.String(2), r.String(3), r.Int64(4)}; }

std::optional<Repo> One(db::Rows r) {
  if (!r.Next()) return std::nullopt;
  return Read(r);
}
std::vector<Repo> All(db::Rows r) {
  std::vector<Repo> out;
  while (r.Next()) out.push_back(Read(r));
  return out;
}
}  // namespace

std::optional<int64_t> RepoStore::Insert(const std::string& name, const std::string& owner, int64_t created_at) {
  try {
    s_.Prepare("INSERT INTO repos (name, owner_token_id, created_at) VALUES (?, ?, ?)")
        .Bind(name).Bind(owner).Bind(created_at).Exec();
  } catch (const db::SqlError& e) {
    if (e.code == db::kDuplicateKey) return std::nullopt;
    throw;
  }
  db::Rows r = s_.Prepare("SELECT LAST_INSERT_ID()").Query();
  r.Next();
  return r.Int64(1);
}

std::optional<std::pair<Repo, std::vector<std::string>>> RepoStore::FindByNameWithCollaborators(
    const std::string& name) {
  // Usernames match ^[A-Za-z0-9_-]+$, so a newline separates them unambiguously.
  db::Rows r = s_.Prepare("SELECT id, name, owner_token_id, created_at, "
                          "(SELECT GROUP_CONCAT(c.username ORDER BY c.username SEPARATOR '\\n') "
                          "FROM collaborators c WHERE c.repo_id = repos.id) FROM repos WHERE name = ?")
                   .Bind(name).Query();
  if (!r.Next()) return std::nullopt;
  std::pair<Repo, std::vector<std::string>> out{Read(r), {}};
  if (auto list = r.OptString(5)) {
    size_t pos = 0;
    while (pos <= list->size()) {
      size_t nl = list->find('\n', pos);
      out.second.push_back(list->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
  }
  return out;
}

std::optional<Repo> RepoStore::LockByName(const std::string& name) {
  return One(s_.Prepare(std::string(kSelect) + "WHERE name = ? FOR UPDATE").Bind(name).Query());
}

std::optional<Repo> RepoStore::FindById(int64_t id) {
  return One(s_.Prepare(std::string(kSelect) + "WHERE id = ?").Bind(id).Query());
}

std::vector<Repo> RepoStore::List() { return All(s_.Prepare(std::string(kSelect) + "ORDER BY name").Query()); }

std::vector<Repo> RepoStore::ListVisibleTo(const std::string& owner, const std::string& username) {
  return All(s_.Prepare(std::string(kSelect) +
                        "WHERE owner_token_id = ? OR id IN (SELECT repo_id FROM collaborators WHERE username = ?) "
                        "ORDER BY name")
                 .Bind(owner).Bind(username).Query());
}

std::vector<Repo> RepoStore::ListPage(int64_t offset, int limit) {
  return All(s_.Prepare(std::string(kSelect) + "ORDER BY name LIMIT ? OFFSET ?").Bind(limit).Bind(offset).Query());
}

int64_t RepoStore::Count() {
  db::Rows r = s_.Prepare("SELECT COUNT(*) FROM repos").Query();
  r.Next();
  return r.Int64(1);
}

namespace {
constexpr const char* kVisibleTo =
    "WHERE owner_token_id = ? OR id IN (SELECT repo_id FROM collaborators WHERE username = ?) ";
}  // namespace

std::vector<Repo> RepoStore::ListVisibleToPage(const std::string& owner, const std::string& username, int64_t offset,
                                               int limit) {
  return All(s_.Prepare(std::string(kSelect) + kVisibleTo + "ORDER BY name LIMIT ? OFFSET ?")
                 .Bind(owner).Bind(username).Bind(limit).Bind(offset).Query());
}

int64_t RepoStore::CountVisibleTo(const std::string& owner, const std::string& username) {
  db::Rows r = s_.Prepare(std::string("SELECT COUNT(*) FROM repos ") + kVisibleTo).Bind(owner).Bind(username).Query();
  r.Next();
  return r.Int64(1);
}

bool RepoStore::Rename(int64_t id, const std::string& new_name) {
  try {
    return s_.Prepare("UPDATE repos SET name = ? WHERE id = ?").Bind(new_name).Bind(id).Exec() > 0;
  } catch (const db::SqlError& e) {
    if (e.code == db::kDuplicateKey) return false;
    throw;
  }
}

bool RepoStore::Delete(int64_t id) { return s_.Prepare("DELETE FROM repos WHERE id = ?").Bind(id).Exec() > 0; }

bool CollaboratorStore::Add(int64_t repo_id, const std::string& username, int64_t now) {
  try {
    s_.Prepare("INSERT INTO collaborators (repo_id, username, created_at) VALUES (?, ?, ?)")
        .Bind(repo_id).Bind(username).Bind(now).Exec();
    return true;
  } catch (const db::SqlError& e) {
    if (e.code == db::kDuplicateKey) return false;
    throw;
  }
}

bool CollaboratorStore::Remove(int64_t repo_id, const std::string& username) {
  return s_.Prepare("DELETE FROM collaborators WHERE repo_id = ? AND username = ?").Bind(repo_id).Bind(username).Exec() > 0;
}

bool CollaboratorStore::ExistsAnywhere(const std::string& username) {
  db::Rows r = s_.Prepare("SELECT 1 FROM collaborators WHERE username = ? LIMIT 1").Bind(username).Query();
  return r.Next();
}

}  // namespace kod::store
