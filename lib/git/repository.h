// Bare repositories read and written in-process with libgit2: init, branches, commits, workflow files,
// checkout.
//
// Every function opens the repository at `repo_path` itself (git_repository_open_bare, see
// docs/platform-notes.md#libgit2) and closes it before returning; none runs a `git` subprocess. Functions are
// thread-safe in the sense of libgit2 (built with threads): separate calls use separate handles.
// Messages of InvalidArgument/NotFound/Conflict are meant for the client's {"error": ...};
// Internal carries libgit2's message and is logged where it happens.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/core/status.h"

namespace kod::git {

/// Creates a bare repository at `path` (parent directories are created) whose HEAD is the
/// symbolic ref refs/heads/<default_branch> (unborn until the first push). Source: docs/api.md#repositories.
/// Errors: Conflict("Repository already exists") if anything exists at `path`;
/// InvalidArgument if refs/heads/<default_branch> is not a valid ref name; Internal if libgit2
/// fails (a half-created directory is removed again).
Status InitBare(const std::string& path, const std::string& default_branch);

/// Short names ("main", "feature/x") of all refs/heads/* refs, sorted bytewise.
/// An empty repository (unborn HEAD) gives an empty list.
/// Errors: NotFound("Repository not found") if `repo_path` holds no repository; Internal.
/// Branches and HEAD's branch together, with one open of the repository (GET /repos/:name).
struct BranchSummary {
  std::vector<std::string> branches;  // as ListBranches
  std::string default_branch;         // as DefaultBranch
};
Result<BranchSummary> Summarize(const std::string& repo_path);

Result<std::vector<std::string>> ListBranches(const std::string& repo_path);

/// The branch HEAD points at, as a short name ("main"), read from the symbolic ref without
/// resolving it, so it works on an unborn HEAD. Source: docs/api.md#repositories (`defaultBranch`).
/// Errors: NotFound("Repository not found"); Internal if HEAD is detached or points outside refs/heads/.
Result<std::string> DefaultBranch(const std::string& repo_path);

/// Points HEAD at refs/heads/<branch> (a symbolic ref, written atomically through a lock file);
/// the branch need not exist. Errors: InvalidArgument for a name git would refuse;
/// NotFound("Repository not found"); Internal.
Status SetHeadBranch(const std::string& repo_path, const std::string& branch);

/// True when commit `ancestor` is `descendant` or one of its ancestors (40-hex ids): a ref
/// moving from `ancestor` to `descendant` is a fast-forward. Errors: NotFound for a missing
/// object, Internal.
Result<bool> IsAncestor(const std::string& repo_path, const std::string& ancestor, const std::string& descendant);

/// The commit id (40 lower-case hex digits) refs/heads/<branch> points at.
/// Errors: NotFound("Branch not found: <branch>") if the branch does not exist (including names
/// that are not valid ref names); NotFound("Repository not found"); Internal.
Result<std::string> BranchTip(const std::string& repo_path, const std::string& branch);

/// Resolves `commit_hex` (7–40 hex digits, either case; an abbreviation must be unique) to the
/// full 40-hex id of a commit that is the tip of `branch` or one of its ancestors.
/// Source: docs/api.md#workflow-runs (trigger `commit`).
/// Errors: InvalidArgument("Commit must be 7 to 40 hexadecimal digits"),
/// InvalidArgument("Commit not found: <hex>"), InvalidArgument("Commit prefix is ambiguous: <hex>"),
/// InvalidArgument("Not a commit: <hex>"), InvalidArgument("Commit <hex> is not on branch <branch>");
/// NotFound("Branch not found: <branch>") from BranchTip (the trigger answers it with 400);
/// NotFound("Repository not found"); Internal.
Result<std::string> ResolveCommitOnBranch(const std::string& repo_path, const std::string& branch,
                                          const std::string& commit_hex);

/// Names ("build.toml") of the workflow files of `commit` (40 hex): regular or executable blobs
/// directly in .kod/workflows/ whose name ends in ".toml" and is longer than that suffix; symlinks,
/// submodules and subdirectories are ignored. Sorted bytewise. Empty when .kod/workflows is
/// missing or is not a directory. Source: docs/api.md#workflow-runs, docs/workflows.md.
/// Errors: InvalidArgument if `commit` is not 40 hex digits; NotFound("Commit not found: <hex>");
/// NotFound("Repository not found"); Internal.
Result<std::vector<std::string>> WorkflowFiles(const std::string& repo_path, const std::string& commit);

/// The content (raw bytes, may hold NULs) of the regular or executable blob at `relpath`
/// ("a/b.txt", relative to the root, '/'-separated) in `commit` (40 hex), or nullopt when there is
/// no such path or it is a directory, symlink or submodule. The whole blob is loaded into memory.
/// Errors: InvalidArgument if `commit` is not 40 hex digits or `relpath` is empty;
/// NotFound("Commit not found: <hex>"); NotFound("Repository not found"); Internal.
Result<std::optional<std::string>> ReadBlob(const std::string& repo_path, const std::string& commit,
                                            const std::string& relpath);

/// Writes the tree of `commit` (40 hex) into the existing directory `dir` with git_checkout_tree
/// (target_directory, GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX): files present in
/// `dir` are overwritten, others are left alone, and no index is written into the bare
/// repository (docs/platform-notes.md#libgit2). Symlinks in the tree become symlinks.
/// Errors: InvalidArgument if `commit` is not 40 hex digits or `dir` is not an existing directory;
/// NotFound("Commit not found: <hex>"); NotFound("Repository not found"); Internal.
/// Moves loose refs into packed-refs (like `git pack-refs --all`, via git_refdb_compress), so
/// reading the branch list is one file instead of one per branch. Run after a push (kod-hook).
Status PackRefs(const std::string& repo_path);

Status CheckoutTo(const std::string& repo_path, const std::string& commit, const std::string& dir);

}  // namespace kod::git
