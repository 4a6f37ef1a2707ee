// Use cases of repositories and collaborators (docs/api.md, docs/access.md, docs/api.md#repositories): the database rows and
// the bare repositories on disk change together or not at all.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/auth/permissions.h"
#include "lib/core/status.h"
#include "lib/domain/page.h"
#include "lib/domain/repo.h"
#include "lib/service/env.h"

namespace kod::service {

/// A repository as one principal sees it.
struct RepoRef {
  domain::Repo repo;
  auth::RepoAccess access = auth::RepoAccess::Hidden;
  std::vector<std::string> collaborators;  // sorted, as read when the reference was resolved
};

/// Absolute path of the bare repository of `name`: <repos_dir>/<name>.git.
std::string RepoPath(const Config& config, const std::string& name);

/// Looks a repository up by its path segment and applies the visibility rule (docs/access.md):
/// an invalid name, a missing repository and a hidden one all give NotFound("Repository not found").
Result<RepoRef> ResolveRepo(Env& env, const auth::Principal& who, const std::string& name);

/// The owner rule: 403 "Only the repository owner can <what>" unless the principal is admin or
/// owner. The owner-only use cases below (rename, delete, list/add/remove collaborators) apply
/// it themselves, first: before their input is looked at (403 comes before 400).
Status RequireOwner(const RepoRef& ref, const std::string& what);

/// Validates a name being created or renamed to: 400 with the rule's message, or the reserved name.
Status ValidateNewRepoName(const std::string& name);

/// Creates the bare repository (HEAD → refs/heads/<default_branch>) aside, moves it into place
/// with RENAME_NOREPLACE (concurrent creators: one wins, the others get 409), then inserts the row
/// (its unique index is the second guard). A directory already on disk without a row is a 409 and
/// is left untouched. Unavailable leaves nothing behind, unless the database could not even say
/// whether the row was stored (then the directory stays for `kodctl doctor`).
Result<domain::Repo> CreateRepo(Env& env, const auth::Principal& who, const std::string& name);

/// Repositories visible to `who`, by name.
Result<std::vector<domain::Repo>> ListRepos(Env& env, const auth::Principal& who);
/// One page of ListRepos (same order), with the number of all repositories visible to `who`.
Result<domain::Page<domain::Repo>> ListReposPage(Env& env, const auth::Principal& who, const domain::PageRequest& page);

/// A repository list rendered into a response body, and (for a page) how many repositories
/// `who` sees in all.
struct RenderedRepos {
  std::string body;
  int64_t total = 0;
};
/// Renders repositories into a response body (the transport's format).
using RepoListRenderer = std::function<std::string(const std::vector<domain::Repo>&)>;
/// GET /repos' body for `who`: ListRepos (or one page of it, ListReposPage) rendered by `render`,
/// kept per visibility and page in cache::kRenderedRepoLists (building a long list dominated the
/// route). Errors: those of ListRepos/ListReposPage.
Result<RenderedRepos> RenderedRepoList(Env& env, const auth::Principal& who,
                                       const std::optional<domain::PageRequest>& page, const RepoListRenderer& render);

/// Branches and HEAD read with libgit2 (docs/api.md#repositories), collaborators as resolved.
Result<domain::RepoDetails> GetRepoDetails(Env& env, const RepoRef& ref);

/// Owner-only. Renames directory and row together, under the repository's exclusive lock:
/// rename(2) with RENAME_NOREPLACE, then one transaction; a failed transaction moves the directory
/// back. `new_name` is the name as parsed from the request, or the Status saying why it could not
/// be (returned after the owner rule). Errors: 403 owner rule, then the parse error, 400 name
/// rules, 409 taken or a push in progress, 404 renamed or deleted meanwhile, 503.
Result<domain::Repo> RenameRepo(Env& env, const RepoRef& ref, const Result<std::string>& new_name);

/// PATCH /repos/:name after JSON type checks: at least one of the two.
struct RepoPatch {
  std::optional<std::string> name;            // RenameRepo's rules
  std::optional<std::string> default_branch;  // an existing branch: HEAD is pointed at it
};

/// Owner-only. Applies `patch` (or returns the parse error, after the owner rule): the default
/// branch is checked first (400 "Branch not found: <b>"), then the rename is done (RenameRepo),
/// then HEAD is pointed at the branch. Answers the details as GetRepoDetails. Errors: 403, the
/// parse error, 400 "name or defaultBranch is required", 400 branch and name rules, RenameRepo's.
Result<domain::RepoDetails> UpdateRepo(Env& env, const RepoRef& ref, const Result<RepoPatch>& patch);

/// Owner-only. Moves the directory aside atomically (<repos_dir>/.trash), deletes the row
/// (collaborators, secrets and runs cascade), commits, then removes the moved directory; a failed
/// transaction moves it back. RecoverTrash() finishes or undoes a delete that a crash interrupted.
/// Errors: 403 owner rule, 409 a push in progress, 503.
Status DeleteRepo(Env& env, const RepoRef& ref);

/// At start and reload: trash entries whose repository row still exists are moved back (the
/// delete never committed), the others are removed — except those of a delete in progress (its
/// lock is held); staged creations older than an hour are removed.
void RecoverTrash(Env& env);

/// Owner-only. The repository's collaborators (usernames, sorted), as read when `ref` was
/// resolved. Errors: 403 owner rule.
Result<std::vector<std::string>> ListCollaborators(Env& env, const RepoRef& ref);
/// Owner-only. `username` as parsed from the request, or the Status saying why it could not be
/// (returned after the owner rule). Errors: 403, the parse error, 400 username rule,
/// 409 "Collaborator already exists".
Status AddCollaborator(Env& env, const RepoRef& ref, const Result<std::string>& username);
/// Owner-only. Errors: 403; 404 when the username is invalid or not a collaborator.
Status RemoveCollaborator(Env& env, const RepoRef& ref, const std::string& username);

/// A repository's in-use lock (flock on <repos_dir>/.locks/<id>.lock, keyed by the id so it
/// survives renames): a push holds it shared for the whole receive-pack; rename and delete take
/// it exclusively, so they never move a directory git is still writing into (which left a
/// half-written directory behind that blocked the name for good). Move-only; released on
/// destruction.
class RepoLock {
 public:
  RepoLock() = default;
  RepoLock(RepoLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RepoLock& operator=(RepoLock&& o) noexcept;
  ~RepoLock();

  /// Shared (for a push); blocks while a rename or delete holds it. Internal on I/O errors.
  static Result<RepoLock> Shared(const Config& config, int64_t repo_id);
  /// Exclusive (rename, delete); waits up to `wait_ms`, then Conflict("Repository is busy: a push
  /// is in progress").
  static Result<RepoLock> Exclusive(const Config& config, int64_t repo_id, int wait_ms);

 private:
  explicit RepoLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// Test seam: called between the directory step and the database step of RenameRepo and
/// DeleteRepo; a non-Ok Status simulates a failure there. Null in production.
extern Status (*g_fault_between_db_and_disk)();

}  // namespace kod::service
