#include "lib/service/repos.h"

#include <fcntl.h>
#include <sys/file.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/names.h"
#include "lib/crypto/random.h"
#include "lib/git/repository.h"
#include "lib/service/cache.h"
#include "lib/store/repos.h"

namespace kod::service {

Status (*g_fault_between_db_and_disk)() = nullptr;

namespace {

namespace fs = std::filesystem;

const char kNameRule[] = "Name must be alphanumeric with hyphens and underscores only";
const char kRepoNotFound[] = "Repository not found";

std::string TrashDir(const Config& c) { return c.repos_dir + "/.trash"; }

// rename(2) that refuses to replace an existing target (renameat2 RENAME_NOREPLACE).
int RenameNoReplace(const std::string& from, const std::string& to) {
  return renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
}

Status Fault() { return g_fault_between_db_and_disk ? g_fault_between_db_and_disk() : Status::Ok(); }

// name → the repository row and its collaborators (lib/service/cache.h).
using Found = std::pair<domain::Repo, std::vector<std::string>>;
EpochCache<std::optional<Found>>& RepoCache() {
  static EpochCache<std::optional<Found>> cache;
  return cache;
}

// Marks the metadata changed when `s` is Ok (the change committed), and passes `s` on.
Status Changed(Status s) {
  if (s.ok()) MetadataChanged();
  return s;
}

std::string LockPath(const Config& c, int64_t repo_id) {
  return c.repos_dir + "/.locks/" + std::to_string(repo_id) + ".lock";
}

Result<int> OpenLock(const Config& c, int64_t repo_id) {
  std::error_code ec;
  fs::create_directories(c.repos_dir + "/.locks", ec);
  int fd = ::open(LockPath(c, repo_id).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Internal(std::string("repository lock: ") + std::strerror(errno));
  return fd;
}

constexpr int kRenameDeleteWaitMs = 5000;  // how long rename/delete wait for a push to end
constexpr int kLockPollMs = 20;            // how often they look meanwhile

}  // namespace

RepoLock& RepoLock::operator=(RepoLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

RepoLock::~RepoLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

Result<RepoLock> RepoLock::Shared(const Config& config, int64_t repo_id) {
  auto fd = OpenLock(config, repo_id);
  if (!fd.ok()) return fd.status();
  RepoLock lock(*fd);
  while (::flock(*fd, LOCK_SH) != 0)
    if (errno != EINTR) return Internal(std::string("repository lock: ") + std::strerror(errno));
  return lock;
}

Result<RepoLock> RepoLock::Exclusive(const Config& config, int64_t repo_id, int wait_ms) {
  auto fd = OpenLock(config, repo_id);
  if (!fd.ok()) return fd.status();
  RepoLock lock(*fd);
  const int64_t deadline = MonotonicMs() + wait_ms;
  while (::flock(*fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return Internal(std::string("repository lock: ") + std::strerror(errno));
    if (MonotonicMs() >= deadline) return Conflict("Repository is busy: a push is in progress");
    ::usleep(kLockPollMs * 1000);
  }
  return lock;
}

std::string RepoPath(const Config& config, const std::string& name) { return config.repos_dir + "/" + name + ".git"; }

Status ValidateNewRepoName(const std::string& name) {
  if (names::IsReservedRepoName(name)) return InvalidArgument("Repository name 'import' is reserved");
  if (!names::IsValidRepoName(name)) return InvalidArgument(kNameRule);
  return Status::Ok();
}

Result<RepoRef> ResolveRepo(Env& env, const auth::Principal& who, const std::string& name) {
  if (!names::IsValidRepoName(name) || names::IsReservedRepoName(name)) return NotFound(kRepoNotFound);
  std::optional<Found> found;
  if (const auto* cached = RepoCache().Get(name)) {
    found = *cached;
  } else {
    const uint64_t epoch = MetadataEpoch();
    Status s = env.db.Run([&] {
      found = store::RepoStore(env.db).FindByNameWithCollaborators(name);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    RepoCache().Put(name, found, epoch);
  }
  if (!found) return NotFound(kRepoNotFound);
  RepoRef ref;
  ref.repo = std::move(found->first);
  ref.collaborators = std::move(found->second);
  bool collaborator =
      who.username && std::binary_search(ref.collaborators.begin(), ref.collaborators.end(), *who.username);
  ref.access = auth::AccessTo(who, ref.repo.owner_token_id, collaborator);
  if (ref.access == auth::RepoAccess::Hidden) return NotFound(kRepoNotFound);
  return ref;
}

Status RequireOwner(const RepoRef& ref, const std::string& what) {
  if (ref.access == auth::RepoAccess::Owner) return Status::Ok();
  return PermissionDenied("Only the repository owner can " + what);
}

Result<domain::Repo> CreateRepo(Env& env, const auth::Principal& who, const std::string& name) {
  if (Status v = ValidateNewRepoName(name); !v.ok()) return v;
  domain::Repo repo{0, name, who.token_id, NowMs()};
  const std::string path = RepoPath(env.config, name);
  bool created = false;
  Status s = env.db.Run([&]() -> Status {
    auto id = store::RepoStore(env.db).Insert(name, who.token_id, repo.created_at);
    if (!id) return Conflict("Repository already exists");
    repo.id = *id;
    // Still inside the transaction: if the directory cannot be created, the row goes too.
    if (std::error_code ec; fs::exists(path, ec)) {
      log::Warn("repository directory exists without a row: " + path);
      return Conflict("Repository already exists");
    }
    Status init = git::InitBare(path, env.config.default_branch);
    created = init.ok();
    return init;
  }, /*transaction=*/true);
  if (!s.ok()) {
    if (s.code == Code::Internal) log::Error("create " + name + ": " + s.message);
    // The row was rolled back: a directory this call made must not outlive it.
    if (created) {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
    return s;
  }
  MetadataChanged();
  return repo;
}

std::string RepoListKey(const auth::Principal& who) {
  return who.username && !who.IsAdmin() ? who.token_id + "/" + *who.username : "*";
}

Result<std::vector<domain::Repo>> ListRepos(Env& env, const auth::Principal& who) {
  return env.db.Get<std::vector<domain::Repo>>([&]() -> Result<std::vector<domain::Repo>> {
    store::RepoStore repos(env.db);
    if (who.username && !who.IsAdmin()) return repos.ListVisibleTo(who.token_id, *who.username);
    return repos.List();
  });
}

Result<domain::RepoDetails> GetRepoDetails(Env& env, const RepoRef& ref) {
  domain::RepoDetails d;
  d.repo = ref.repo;
  const std::string path = RepoPath(env.config, ref.repo.name);
  auto summary = git::Summarize(path);
  if (!summary.ok()) return summary.status();
  d.branches = std::move(summary->branches);
  d.default_branch = std::move(summary->default_branch);
  d.collaborators = ref.collaborators;
  return d;
}

namespace {

// The protocol of rename and delete: no push in flight (the repository's lock, exclusively),
// then one transaction holding the repository's row lock, in which `change` runs after the row
// is confirmed to still be the one `ref` resolved (a concurrent rename or delete gives 404).
Status ChangeExclusively(Env& env, const RepoRef& ref, const std::function<Status(store::RepoStore&)>& change) {
  auto busy = RepoLock::Exclusive(env.config, ref.repo.id, kRenameDeleteWaitMs);
  if (!busy.ok()) return busy.status();
  return env.db.Run([&]() -> Status {
    store::RepoStore repos(env.db);
    auto locked = repos.LockByName(ref.repo.name);
    if (!locked || locked->id != ref.repo.id) return NotFound(kRepoNotFound);
    return change(repos);
  }, /*transaction=*/true);
}

}  // namespace

Result<domain::Repo> RenameRepo(Env& env, const RepoRef& ref, const Result<std::string>& parsed_name) {
  if (Status s = RequireOwner(ref, "rename this repository"); !s.ok()) return s;
  if (!parsed_name.ok()) return parsed_name.status();
  const std::string& new_name = *parsed_name;
  if (Status v = ValidateNewRepoName(new_name); !v.ok()) return v;
  domain::Repo out = ref.repo;
  if (new_name == ref.repo.name) return out;
  const std::string from = RepoPath(env.config, ref.repo.name);
  const std::string to = RepoPath(env.config, new_name);
  bool moved = false;
  Status s = ChangeExclusively(env, ref, [&](store::RepoStore& repos) -> Status {
    moved = false;
    if (!repos.Rename(ref.repo.id, new_name)) return Conflict("Repository already exists");
    if (Status f = Fault(); !f.ok()) return f;
    if (RenameNoReplace(from, to) != 0) {
      int err = errno;
      if (err == EEXIST || err == ENOTEMPTY) return Conflict("Repository already exists");
      return Internal(std::string("rename failed: ") + std::strerror(err));
    }
    moved = true;
    return Status::Ok();
  });
  if (!s.ok()) {
    // The transaction rolled back; if the directory had moved (commit failed), move it back.
    if (moved && RenameNoReplace(to, from) != 0) log::Error("rename rollback failed for " + to);
    return s;
  }
  out.name = new_name;
  MetadataChanged();
  return out;
}

Status DeleteRepo(Env& env, const RepoRef& ref) {
  if (Status s = RequireOwner(ref, "delete this repository"); !s.ok()) return s;
  const std::string path = RepoPath(env.config, ref.repo.name);
  const std::string trash = TrashDir(env.config) + "/" + std::to_string(ref.repo.id) + "-" + crypto::NewId();
  std::error_code ec;
  fs::create_directories(TrashDir(env.config), ec);
  bool moved = false;
  Status s = ChangeExclusively(env, ref, [&](store::RepoStore& repos) -> Status {
    moved = false;
    repos.Delete(ref.repo.id);
    if (Status f = Fault(); !f.ok()) return f;
    if (RenameNoReplace(path, trash) != 0) {
      if (errno != ENOENT) return Internal(std::string("move aside failed: ") + std::strerror(errno));
    } else {
      moved = true;
    }
    return Status::Ok();
  });
  if (!s.ok()) {
    if (moved && RenameNoReplace(trash, path) != 0) log::Error("delete rollback failed for " + path);
    return s;
  }
  MetadataChanged();
  if (moved) fs::remove_all(trash, ec);
  fs::remove(LockPath(env.config, ref.repo.id), ec);  // ids are never reused
  return Status::Ok();
}

void RecoverTrash(Env& env) {
  std::error_code ec;
  fs::directory_iterator it(TrashDir(env.config), ec);
  if (ec) return;
  for (const auto& entry : it) {
    std::string leaf = entry.path().filename().string();
    size_t dash = leaf.find('-');
    int64_t id = 0;
    try {
      id = std::stoll(leaf.substr(0, dash));
    } catch (...) {
      continue;
    }
    std::optional<domain::Repo> repo;
    if (!env.db.Run([&] {
          repo = store::RepoStore(env.db).FindById(id);
          return Status::Ok();
        }).ok())
      return;
    if (repo) {
      std::string path = RepoPath(env.config, repo->name);
      if (RenameNoReplace(entry.path().string(), path) == 0) {
        log::Warn("restored " + path + " from an interrupted delete");
        continue;
      }
    }
    fs::remove_all(entry.path(), ec);
  }
}

Result<std::vector<std::string>> ListCollaborators(Env&, const RepoRef& ref) {
  if (Status s = RequireOwner(ref, "list collaborators"); !s.ok()) return s;
  return ref.collaborators;
}

Status AddCollaborator(Env& env, const RepoRef& ref, const Result<std::string>& parsed_username) {
  if (Status s = RequireOwner(ref, "add collaborators"); !s.ok()) return s;
  if (!parsed_username.ok()) return parsed_username.status();
  const std::string& username = *parsed_username;
  if (!names::IsValidUsername(username)) return InvalidArgument("username must match ^[A-Za-z0-9_-]{1,64}$");
  return Changed(env.db.Run([&]() -> Status {
    return store::CollaboratorStore(env.db).Add(ref.repo.id, username, NowMs())
               ? Status::Ok()
               : Conflict("Collaborator already exists");
  }));
}

Status RemoveCollaborator(Env& env, const RepoRef& ref, const std::string& username) {
  if (Status s = RequireOwner(ref, "remove collaborators"); !s.ok()) return s;
  if (!names::IsValidUsername(username)) return NotFound("Collaborator not found");
  return Changed(env.db.Run([&]() -> Status {
    return store::CollaboratorStore(env.db).Remove(ref.repo.id, username) ? Status::Ok()
                                                                         : NotFound("Collaborator not found");
  }));
}

}  // namespace kod::service
