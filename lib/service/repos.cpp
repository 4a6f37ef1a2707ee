#include "lib/service/repos.h"

#include <fcntl.h>
#include <sys/file.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>

#include "lib/cache/cache.h"
#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/names.h"
#include "lib/crypto/random.h"
#include "lib/git/repository.h"
#include "lib/service/runs.h"
#include "lib/store/repos.h"
#include "lib/store/runs.h"

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

// name → the repository row and its collaborators, or nullopt for "no such repository"
// (lib/cache/cache.h).
using Found = std::pair<domain::Repo, std::vector<std::string>>;
cache::Map<std::optional<Found>>& RepoCache() {
  static cache::Map<std::optional<Found>> cache(cache::kReposByName);
  return cache;
}

// visibility (RepoListKey) and page → GET /repos' rendered body (lib/cache/cache.h).
cache::Map<RenderedRepos>& RenderedListCache() {
  static cache::Map<RenderedRepos> cache(cache::kRenderedRepoLists);
  return cache;
}

// Marks repositories changed when `s` is Ok (the change committed), and passes `s` on.
Status Changed(Status s) {
  if (s.ok()) cache::Changed(cache::Scope::kRepos);
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
// How long a delete waits for its running runs to stop (their steps get SIGTERM, SIGKILL 5 s
// later: docs/workflows.md#cancel-and-re-run).
constexpr int64_t kStopRunsWaitMs = 10000;
const char kRepoExists[] = "Repository already exists";

std::string StagingDir(const Config& c) { return c.repos_dir + "/.staging"; }

// Makes a bare repository aside (<repos_dir>/.staging) and moves it to `path` with
// RENAME_NOREPLACE: of concurrent creators exactly one gets the directory, the others a 409.
Status PlaceNewBare(const Config& config, const std::string& path) {
  std::error_code ec;
  fs::create_directories(StagingDir(config), ec);
  const std::string staged = StagingDir(config) + "/" + crypto::NewId() + ".git";
  if (Status init = git::InitBare(staged, config.default_branch); !init.ok()) {
    fs::remove_all(staged, ec);
    return init;
  }
  if (RenameNoReplace(staged, path) == 0) return Status::Ok();
  const int err = errno;
  fs::remove_all(staged, ec);
  if (err == EEXIST || err == ENOTEMPTY) return Conflict(kRepoExists);
  return Internal(std::string("placing the new repository failed: ") + std::strerror(err));
}

// One read of a repository row, for a change whose outcome must be settled. An error means the
// database cannot tell either.
Result<std::optional<domain::Repo>> ReadBack(Env& env,
                                            const std::function<std::optional<domain::Repo>(store::RepoStore&)>& read) {
  std::optional<domain::Repo> row;
  Status s = env.db.Run([&] {
    store::RepoStore repos(env.db);
    row = read(repos);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return row;
}

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
    const uint64_t generation = cache::Generation(cache::Scope::kRepos);
    Status s = env.db.Run([&] {
      found = store::RepoStore(env.db).FindByNameWithCollaborators(name);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    RepoCache().Put(name, found, generation);
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
  // The directory first, then the row (files stay out of database transactions, lib/db/db.h):
  // a directory without its row is invisible to every route, a row without its directory is not.
  if (std::error_code ec; fs::exists(path, ec)) return Conflict(kRepoExists);
  if (Status placed = PlaceNewBare(env.config, path); !placed.ok()) return placed;
  Status s = env.db.Run([&]() -> Status {
    auto id = store::RepoStore(env.db).Insert(name, who.token_id, repo.created_at);
    if (!id) return Conflict(kRepoExists);
    repo.id = *id;
    return Status::Ok();
  });
  if (!s.ok() && env.db.OutcomeUnknown()) {
    auto row = ReadBack(env, [&](store::RepoStore& repos) -> std::optional<domain::Repo> {
      auto found = repos.FindByNameWithCollaborators(name);
      if (!found) return std::nullopt;
      return found->first;
    });
    if (!row.ok()) {
      log::Error("create " + name + ": unknown whether the row was stored; " + path +
                 " kept (`kodctl doctor` settles it)");
      return s;
    }
    if (*row && (*row)->owner_token_id == who.token_id && (*row)->created_at == repo.created_at) {
      repo.id = (*row)->id;
      s = Status::Ok();
    }
  }
  if (!s.ok()) {
    if (s.code == Code::Internal) log::Error("create " + name + ": " + s.message);
    std::error_code ec;
    fs::remove_all(path, ec);  // ours: RENAME_NOREPLACE put it there, and no row claims it
    return s;
  }
  cache::Changed(cache::Scope::kRepos);
  return repo;
}

namespace {

// Principals with the same key see the same ListRepos.
std::string RepoListKey(const auth::Principal& who) {
  return who.username && !who.IsAdmin() ? who.token_id + "/" + *who.username : "*";
}

}  // namespace

Result<std::vector<domain::Repo>> ListRepos(Env& env, const auth::Principal& who) {
  return env.db.Get<std::vector<domain::Repo>>([&]() -> Result<std::vector<domain::Repo>> {
    store::RepoStore repos(env.db);
    if (who.username && !who.IsAdmin()) return repos.ListVisibleTo(who.token_id, *who.username);
    return repos.List();
  });
}

Result<domain::Page<domain::Repo>> ListReposPage(Env& env, const auth::Principal& who,
                                                 const domain::PageRequest& p) {
  return env.db.Get<domain::Page<domain::Repo>>([&]() -> Result<domain::Page<domain::Repo>> {
    store::RepoStore repos(env.db);
    domain::Page<domain::Repo> out;
    if (who.username && !who.IsAdmin()) {
      out.items = repos.ListVisibleToPage(who.token_id, *who.username, p.Offset(), p.per_page);
      out.total = repos.CountVisibleTo(who.token_id, *who.username);
    } else {
      out.items = repos.ListPage(p.Offset(), p.per_page);
      out.total = repos.Count();
    }
    return out;
  });
}

Result<RenderedRepos> RenderedRepoList(Env& env, const auth::Principal& who,
                                       const std::optional<domain::PageRequest>& page, const RepoListRenderer& render) {
  std::string key = RepoListKey(who);
  if (page) key += "|" + std::to_string(page->page) + "|" + std::to_string(page->per_page);
  if (const RenderedRepos* hit = RenderedListCache().Get(key)) return *hit;
  const uint64_t generation = cache::Generation(cache::Scope::kRepos);
  RenderedRepos out;
  if (page) {
    auto paged = ListReposPage(env, who, *page);
    if (!paged.ok()) return paged.status();
    out.total = paged->total;
    out.body = render(paged->items);
  } else {
    auto all = ListRepos(env, who);
    if (!all.ok()) return all.status();
    out.body = render(*all);
  }
  RenderedListCache().Put(key, out, generation);
  return out;
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

// A change on disk that goes with a change of the repository's row, and how to undo it.
struct DirStep {
  std::function<Status()> apply;
  std::function<void()> undo;  // only called after apply() succeeded
};

// The protocol of rename and delete: no push in flight (the repository's lock, exclusively), the
// row still the one `ref` resolved, then the directory step, then one transaction that locks the
// row, re-checks it and applies `change` — database work only, so a retry repeats nothing on disk
// (lib/db/db.h). A failed transaction undoes the directory step; when the commit's outcome is
// unknown, the row is read back and `committed` decides.
Status ChangeExclusively(Env& env, const RepoRef& ref, const DirStep& dir,
                         const std::function<Status(store::RepoStore&)>& change,
                         const std::function<bool(const std::optional<domain::Repo>&)>& committed) {
  auto busy = RepoLock::Exclusive(env.config, ref.repo.id, kRenameDeleteWaitMs);
  if (!busy.ok()) return busy.status();
  auto now = ReadBack(env, [&](store::RepoStore& repos) { return repos.FindById(ref.repo.id); });
  if (!now.ok()) return now.status();
  if (!*now || (*now)->name != ref.repo.name) return NotFound(kRepoNotFound);  // renamed or deleted meanwhile
  if (Status d = dir.apply(); !d.ok()) return d;
  Status s = Fault();
  if (s.ok())
    s = env.db.Run([&]() -> Status {
      store::RepoStore repos(env.db);
      auto locked = repos.LockByName(ref.repo.name);
      if (!locked || locked->id != ref.repo.id) return NotFound(kRepoNotFound);
      return change(repos);
    }, /*transaction=*/true);
  if (!s.ok() && env.db.OutcomeUnknown()) {
    auto row = ReadBack(env, [&](store::RepoStore& repos) { return repos.FindById(ref.repo.id); });
    if (!row.ok()) {
      log::Error("repository " + std::to_string(ref.repo.id) + " (" + ref.repo.name +
                 "): unknown whether the change committed; its directory is left as changed (`kodctl doctor` "
                 "settles it)");
      return s;
    }
    if (committed(*row)) return Status::Ok();
  }
  if (!s.ok()) dir.undo();
  return s;
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
  DirStep move{[&]() -> Status {
                 if (RenameNoReplace(from, to) == 0) return Status::Ok();
                 int err = errno;
                 if (err == EEXIST || err == ENOTEMPTY) return Conflict(kRepoExists);
                 return Internal(std::string("rename failed: ") + std::strerror(err));
               },
               [&] {
                 if (RenameNoReplace(to, from) != 0) log::Error("rename rollback failed for " + to);
               }};
  Status s = ChangeExclusively(
      env, ref, move,
      [&](store::RepoStore& repos) { return repos.Rename(ref.repo.id, new_name) ? Status::Ok() : Conflict(kRepoExists); },
      [&](const std::optional<domain::Repo>& row) { return row && row->name == new_name; });
  if (!s.ok()) return s;
  out.name = new_name;
  cache::Changed(cache::Scope::kRepos);
  return out;
}

Result<domain::RepoDetails> UpdateRepo(Env& env, const RepoRef& ref, const Result<RepoPatch>& patch) {
  const bool renaming = !patch.ok() || patch->name.has_value();
  if (Status s = RequireOwner(ref, renaming ? "rename this repository" : "change the default branch"); !s.ok()) return s;
  if (!patch.ok()) return patch.status();
  if (!patch->name && !patch->default_branch) return InvalidArgument("name or defaultBranch is required");
  if (patch->default_branch) {
    const std::string& b = *patch->default_branch;
    auto tip = git::BranchTip(RepoPath(env.config, ref.repo.name), b);
    if (!tip.ok()) return tip.status().code == Code::NotFound ? InvalidArgument("Branch not found: " + b) : tip.status();
  }
  RepoRef now = ref;
  if (patch->name) {
    auto renamed = RenameRepo(env, ref, *patch->name);
    if (!renamed.ok()) return renamed.status();
    now.repo = *renamed;
  }
  if (patch->default_branch) {
    Status s = git::SetHeadBranch(RepoPath(env.config, now.repo.name), *patch->default_branch);
    if (!s.ok()) return s.code == Code::NotFound ? NotFound(kRepoNotFound) : s;
  }
  return GetRepoDetails(env, now);
}

Status DeleteRepo(Env& env, const RepoRef& ref) {
  if (Status s = RequireOwner(ref, "delete this repository"); !s.ok()) return s;
  // Its runs first: queued ones cancelled, running ones stopped by their runner, before anything
  // is removed (no step of a deleted repository runs or gets its secrets).
  if (Status s = StopRunsOf(env, ref.repo.id, kStopRunsWaitMs); !s.ok()) return s;
  const std::string path = RepoPath(env.config, ref.repo.name);
  const std::string trash = TrashDir(env.config) + "/" + std::to_string(ref.repo.id) + "-" + crypto::NewId();
  std::error_code ec;
  fs::create_directories(TrashDir(env.config), ec);
  bool moved = false;
  DirStep aside{[&]() -> Status {
                  if (RenameNoReplace(path, trash) == 0) moved = true;
                  else if (errno != ENOENT) return Internal(std::string("move aside failed: ") + std::strerror(errno));
                  return Status::Ok();  // a row without its directory can still be deleted
                },
                [&] {
                  if (moved && RenameNoReplace(trash, path) != 0) log::Error("delete rollback failed for " + path);
                }};
  Status s = ChangeExclusively(
      env, ref, aside,
      [&](store::RepoStore& repos) {
        // A run claimed since StopRunsOf (the claim locks this row too): keep everything.
        if (store::RunStore(env.db).HasRunning(ref.repo.id))
          return Unavailable("A run of this repository is still stopping; try again shortly");
        repos.Delete(ref.repo.id);
        return Status::Ok();
      },
      [](const std::optional<domain::Repo>& row) { return !row; });
  if (!s.ok()) return s;
  cache::Changed(cache::Scope::kRepos);
  if (moved) fs::remove_all(trash, ec);
  fs::remove(LockPath(env.config, ref.repo.id), ec);  // ids are never reused
  return Status::Ok();
}

void RecoverTrash(Env& env) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(TrashDir(env.config), ec)) {
    std::string leaf = entry.path().filename().string();
    int64_t id = 0;
    try {
      id = std::stoll(leaf.substr(0, leaf.find('-')));
    } catch (...) {
      continue;
    }
    // A delete still in progress (a worker holds the lock while a reload runs this) is its own.
    auto lock = RepoLock::Exclusive(env.config, id, 0);
    if (!lock.ok()) continue;
    auto repo = ReadBack(env, [&](store::RepoStore& repos) { return repos.FindById(id); });
    if (!repo.ok()) return;
    if (*repo) {  // the delete never committed: the directory goes back
      std::string path = RepoPath(env.config, (*repo)->name);
      if (RenameNoReplace(entry.path().string(), path) == 0) log::Warn("restored " + path + " from an interrupted delete");
      else log::Error("cannot restore " + path + " from " + entry.path().string() + ": " + std::strerror(errno));
      continue;
    }
    fs::remove_all(entry.path(), ec);
    fs::remove(LockPath(env.config, id), ec);  // the delete committed: the id is never reused
  }
  // Bare repositories a create made aside and never placed (the process died): an hour old at least,
  // so a create in progress keeps its own.
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& entry : fs::directory_iterator(StagingDir(env.config), ec))
    if (fs::last_write_time(entry.path(), ec) < cutoff) fs::remove_all(entry.path(), ec);
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
