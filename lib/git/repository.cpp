#include "lib/git/repository.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>

#include "lib/cache/cache.h"
#include "lib/core/log.h"
#include "lib/git/libgit2.h"

namespace kod::git {
namespace {

constexpr std::string_view kHeadsPrefix = "refs/heads/";
constexpr std::string_view kWorkflowDir = ".kod/workflows";
constexpr std::string_view kWorkflowSuffix = ".toml";

bool IsHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

bool ValidRefName(const std::string& refname) {
  int valid = 0;
  return git_reference_name_is_valid(&valid, refname.c_str()) == 0 && valid;
}

// Branch names git itself accepts (refs.c check_branch_ref): a valid refs/heads/<name> ref name,
// not starting with '-' and not "HEAD".
bool ValidBranchName(const std::string& branch) {
  return !branch.empty() && branch[0] != '-' && branch != "HEAD" &&
         ValidRefName(std::string(kHeadsPrefix) + branch);
}

Status BranchNotFound(const std::string& branch) { return NotFound("Branch not found: " + branch); }

// Looks up the commit with the full 40-hex id `hex`.
Result<GitCommit> LookupCommit(git_repository* repo, const std::string& hex) {
  if (hex.size() != GIT_OID_HEXSZ || !IsHex(hex)) {
    return InvalidArgument("Commit must be 40 hexadecimal digits");
  }
  git_oid oid;
  if (int rc = git_oid_fromstr(&oid, hex.c_str()); rc < 0) return GitFailure("parse commit id", rc);
  git_commit* raw = nullptr;
  int rc = git_commit_lookup(&raw, repo, &oid);
  GitCommit commit(raw);
  // A non-commit object with that id also gives GIT_ENOTFOUND (type mismatch).
  if (rc == GIT_ENOTFOUND) return NotFound("Commit not found: " + hex);
  if (rc < 0) return GitFailure("look up commit " + hex, rc);
  return commit;
}

Result<GitTree> CommitTree(git_commit* commit) {
  git_tree* raw = nullptr;
  int rc = git_commit_tree(&raw, commit);
  GitTree tree(raw);
  if (rc < 0) return GitFailure("read commit tree", rc);
  return tree;
}

// The entry at `path` under `root`, or a null pointer when there is none.
Result<GitTreeEntry> EntryByPath(git_tree* root, const std::string& path) {
  git_tree_entry* raw = nullptr;
  int rc = git_tree_entry_bypath(&raw, root, path.c_str());
  GitTreeEntry entry(raw);
  // EINVALIDSPEC: paths such as "/x" or "a//b" cannot name an entry, so they name nothing.
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) return GitTreeEntry();
  if (rc < 0) return GitFailure("look up path " + path, rc);
  return entry;
}

bool IsRegularBlob(const git_tree_entry* e) {
  git_filemode_t mode = git_tree_entry_filemode(e);
  return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

}  // namespace

Status InitBare(const std::string& path, const std::string& default_branch) {
  Init();
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return Conflict("Repository already exists");
  const std::string head = std::string(kHeadsPrefix) + default_branch;
  if (!ValidBranchName(default_branch)) {
    return InvalidArgument("Invalid default branch name: " + default_branch);
  }
  git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
  opts.initial_head = head.c_str();  // starts with "refs/": used verbatim
  git_repository* raw = nullptr;
  int rc = git_repository_init_ext(&raw, path.c_str(), &opts);
  GitRepo repo(raw);
  if (rc == GIT_EEXISTS) return Conflict("Repository already exists");  // lost a race
  if (rc < 0) {
    Status s = GitFailure("init bare repository " + path, rc);
    std::error_code ec;  // the path did not exist before, so all of it is ours to remove
    std::filesystem::remove_all(path, ec);
    return s;
  }
  return Status::Ok();
}

namespace {

Result<std::vector<std::string>> BranchesOf(git_repository* repo) {
  // Names only: git_reference_next_name lists loose refs from the directory without opening
  // each ref file (a branch iterator reads every one: 20 branches were 20 opens per request).
  git_reference_iterator* raw_it = nullptr;
  int rc = git_reference_iterator_glob_new(&raw_it, repo, "refs/heads/*");
  GitReferenceIterator it(raw_it);
  if (rc < 0) return GitFailure("list branches", rc);
  std::vector<std::string> names;
  for (;;) {
    const char* name = nullptr;
    rc = git_reference_next_name(&name, it.get());
    if (rc == GIT_ITEROVER) break;
    if (rc < 0) return GitFailure("list branches", rc);
    std::string_view full(name);
    if (full.size() > kHeadsPrefix.size() && full.substr(0, kHeadsPrefix.size()) == kHeadsPrefix)
      names.emplace_back(full.substr(kHeadsPrefix.size()));
  }
  std::sort(names.begin(), names.end());  // std::string compares as unsigned bytes (memcmp)
  return names;
}

Result<std::string> HeadBranchOf(git_repository* repo, const std::string& repo_path) {
  git_reference* raw = nullptr;
  int rc = git_reference_lookup(&raw, repo, "HEAD");
  GitReference head(raw);
  if (rc < 0) return GitFailure("read HEAD", rc);
  if (git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC) {
    log::Error("HEAD of " + repo_path + " is detached");
    return Internal("HEAD is not a branch");
  }
  std::string target = git_reference_symbolic_target(head.get());
  if (target.size() <= kHeadsPrefix.size() || target.compare(0, kHeadsPrefix.size(), kHeadsPrefix) != 0) {
    log::Error("HEAD of " + repo_path + " points at " + target);
    return Internal("HEAD is not a branch");
  }
  return target.substr(kHeadsPrefix.size());
}

}  // namespace

Result<std::vector<std::string>> ListBranches(const std::string& repo_path) {
  auto repo = OpenBare(repo_path);
  if (!repo) return repo.status();
  return BranchesOf(repo->get());
}

Result<std::string> DefaultBranch(const std::string& repo_path) {
  auto repo = OpenBare(repo_path);
  if (!repo) return repo.status();
  return HeadBranchOf(repo->get(), repo_path);
}

Result<bool> IsAncestor(const std::string& repo_path, const std::string& ancestor, const std::string& descendant) {
  auto repo = OpenBare(repo_path);
  if (!repo) return repo.status();
  git_oid a, d;
  if (git_oid_fromstr(&a, ancestor.c_str()) < 0 || git_oid_fromstr(&d, descendant.c_str()) < 0)
    return InvalidArgument("not an object id");
  if (git_oid_equal(&a, &d)) return true;
  int rc = git_graph_descendant_of(repo->get(), &d, &a);
  if (rc < 0) return rc == GIT_ENOTFOUND ? NotFound("object not found") : GitFailure("merge base", rc);
  return rc == 1;
}

Status SetHeadBranch(const std::string& repo_path, const std::string& branch) {
  if (!ValidBranchName(branch)) return InvalidArgument("Invalid branch name: " + branch);
  auto repo = OpenBare(repo_path);
  if (!repo) return repo.status();
  const std::string target = std::string(kHeadsPrefix) + branch;
  git_reference* raw = nullptr;
  int rc = git_reference_symbolic_create(&raw, repo->get(), "HEAD", target.c_str(), /*force=*/1, "kod: default branch");
  GitReference ref(raw);
  if (rc < 0) return GitFailure("set HEAD of " + repo_path, rc);
  return Status::Ok();
}

namespace {

// Opened repositories kept for Summarize, the per-request read of GET /repos/:name: opening
// costs more than reading refs (bench/api). An entry is used only while the directory is the
// same one (device and inode), so a deleted and re-created repository is opened afresh; refs and
// HEAD are re-read from disk by libgit2 on every call. cache::kOpenedRepositories; g_open_mu
// guards it (libgit2 calls may come from several threads).
struct OpenRepo {
  GitRepo repo;
  dev_t dev = 0;
  ino_t ino = 0;
};
std::mutex g_open_mu;
cache::Map<OpenRepo>& OpenRepos() {
  static cache::Map<OpenRepo> m(cache::kOpenedRepositories);
  return m;
}

}  // namespace

Result<BranchSummary> Summarize(const std::string& repo_path) {
  struct stat st {};
  if (::stat(repo_path.c_str(), &st) != 0) {
    std::lock_guard<std::mutex> lock(g_open_mu);
    OpenRepos().Erase(repo_path);
    return NotFound("Repository not found");
  }
  std::lock_guard<std::mutex> lock(g_open_mu);
  const OpenRepo* open = OpenRepos().Get(repo_path);
  if (open == nullptr || open->dev != st.st_dev || open->ino != st.st_ino) {
    auto repo = OpenBare(repo_path);
    if (!repo) return repo.status();
    open = OpenRepos().Put(repo_path, OpenRepo{std::move(*repo), st.st_dev, st.st_ino}, /*generation=*/0);
  }
  git_repository* repo = open->repo.get();
  auto branches = BranchesOf(repo);
  if (!branches) return branches.status();
  auto head = HeadBranchOf(repo, repo_path);
  if (!head) return head.status();
  return BranchSummary{std::move(*branches), std::move(*head)};
}

Result<std::string> BranchTip(const std::string& repo_path, const std::string& branch) {
  auto repo = OpenBare(repo_path);
  if (!repo) return repo.status();
  const std::string refname = std::string(kHeadsPrefix) + branch;
  if (!ValidBranchName(branch)) return BranchNotFound(branch);
  git_oid oid;
  int rc = git_reference_name_to_id(&oid, repo->get(), refname.c_str());
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) return BranchNotFound(branch);
  if (rc < 0) return GitFailure("resolve " + refname, rc);
  return OidHex(oid);
}

Result<std::string> ResolveCommitOnBranch(const std::string& repo_path, const std::string& branch,
                                          const std::string& commit_hex) {
  if (commit_hex.size() < 7 || commit_hex.size() > GIT_OID_HEXSZ || !IsHex(commit_hex)) {
    return InvalidArgument("Commit must be 7 to 40 hexadecimal digits");
  }
  auto tip_hex = BranchTip(repo_path, branch);
  if (!tip_hex) return tip_hex.status();
  auto repo = OpenBare(repo_path);
  if (!repo) return repo.status();

  git_oid prefix;
  if (int rc = git_oid_fromstrn(&prefix, commit_hex.data(), commit_hex.size()); rc < 0) {
    return GitFailure("parse commit id", rc);
  }
  git_object* raw = nullptr;
  int rc = git_object_lookup_prefix(&raw, repo->get(), &prefix, commit_hex.size(), GIT_OBJECT_ANY);
  GitObject obj(raw);
  if (rc == GIT_ENOTFOUND) return InvalidArgument("Commit not found: " + commit_hex);
  if (rc == GIT_EAMBIGUOUS) return InvalidArgument("Commit prefix is ambiguous: " + commit_hex);
  if (rc < 0) return GitFailure("look up commit " + commit_hex, rc);
  if (git_object_type(obj.get()) != GIT_OBJECT_COMMIT) return InvalidArgument("Not a commit: " + commit_hex);

  const git_oid* id = git_object_id(obj.get());
  git_oid tip;
  if (rc = git_oid_fromstr(&tip, tip_hex->c_str()); rc < 0) return GitFailure("parse branch tip", rc);
  if (git_oid_equal(id, &tip)) return OidHex(*id);
  // Note: a commit is not its own descendant, hence the equality check above.
  rc = git_graph_descendant_of(repo->get(), &tip, id);
  if (rc < 0) return GitFailure("check ancestry of " + commit_hex, rc);
  if (rc == 0) return InvalidArgument("Commit " + commit_hex + " is not on branch " + branch);
  return OidHex(*id);
}

Result<std::vector<std::string>> WorkflowFiles(const std::string& repo_path, const std::string& commit) {
  auto repo = OpenBare(repo_path);
  if (!repo) return repo.status();
  auto c = LookupCommit(repo->get(), commit);
  if (!c) return c.status();
  auto root = CommitTree(c->get());
  if (!root) return root.status();
  auto entry = EntryByPath(root->get(), std::string(kWorkflowDir));
  if (!entry) return entry.status();
  std::vector<std::string> names;
  if (!*entry || git_tree_entry_type(entry->get()) != GIT_OBJECT_TREE) return names;

  git_tree* raw = nullptr;
  int rc = git_tree_lookup(&raw, repo->get(), git_tree_entry_id(entry->get()));
  GitTree dir(raw);
  if (rc < 0) return GitFailure("read .kod/workflows", rc);
  const size_t n = git_tree_entrycount(dir.get());
  for (size_t i = 0; i < n; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(dir.get(), i);  // borrowed from `dir`
    std::string_view name = git_tree_entry_name(e);
    if (!IsRegularBlob(e) || name.size() <= kWorkflowSuffix.size() || !name.ends_with(kWorkflowSuffix)) {
      continue;
    }
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::optional<std::string>> ReadBlob(const std::string& repo_path, const std::string& commit,
                                            const std::string& relpath) {
  if (relpath.empty()) return InvalidArgument("Path must not be empty");
  auto repo = OpenBare(repo_path);
  if (!repo) return repo.status();
  auto c = LookupCommit(repo->get(), commit);
  if (!c) return c.status();
  auto root = CommitTree(c->get());
  if (!root) return root.status();
  auto entry = EntryByPath(root->get(), relpath);
  if (!entry) return entry.status();
  if (!*entry || !IsRegularBlob(entry->get())) return std::optional<std::string>();

  git_blob* raw = nullptr;
  int rc = git_blob_lookup(&raw, repo->get(), git_tree_entry_id(entry->get()));
  GitBlob blob(raw);
  if (rc < 0) return GitFailure("read blob " + relpath, rc);
  const char* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
  return std::optional<std::string>(std::string(data, static_cast<size_t>(git_blob_rawsize(blob.get()))));
}

Status CheckoutTo(const std::string& repo_path, const std::string& commit, const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return InvalidArgument("Not a directory: " + dir);
  auto repo = OpenBare(repo_path);
  if (!repo) return repo.status();
  auto c = LookupCommit(repo->get(), commit);
  if (!c) return c.status();
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
  opts.target_directory = dir.c_str();
  int rc = git_checkout_tree(repo->get(), reinterpret_cast<const git_object*>(c->get()), &opts);
  if (rc < 0) return GitFailure("check out " + commit + " into " + dir, rc);
  return Status::Ok();
}

}  // namespace kod::git

namespace kod::git {

Status PackRefs(const std::string& repo_path) {
  auto repo = OpenBare(repo_path);
  if (!repo) return repo.status();
  git_refdb* raw = nullptr;
  int rc = git_repository_refdb(&raw, repo->get());
  std::unique_ptr<git_refdb, Free<git_refdb, git_refdb_free>> refdb(raw);
  if (rc < 0) return GitFailure("open refdb", rc);
  if (rc = git_refdb_compress(refdb.get()); rc < 0) return GitFailure("pack refs", rc);
  return Status::Ok();
}

}  // namespace kod::git
