// libgit2 plumbing private to lib/git: one-time init, RAII owners for every handle, errors → Status.
// Only lib/git (and its unit tests) include this header, because it includes git2.h.
#pragma once

#include <git2.h>

#include <memory>
#include <string>
#include <string_view>

#include "lib/core/raii.h"
#include "lib/core/status.h"

namespace kod::git {

/// Calls git_libgit2_init() exactly once per process (thread-safe, idempotent; never shut down).
/// Every public function of lib/git calls it, so callers need not.
void Init();

using kod::Free;

using GitRepo = std::unique_ptr<git_repository, Free<git_repository, git_repository_free>>;
using GitReference = std::unique_ptr<git_reference, Free<git_reference, git_reference_free>>;
using GitCommit = std::unique_ptr<git_commit, Free<git_commit, git_commit_free>>;
using GitTree = std::unique_ptr<git_tree, Free<git_tree, git_tree_free>>;
using GitTreeEntry = std::unique_ptr<git_tree_entry, Free<git_tree_entry, git_tree_entry_free>>;
using GitBlob = std::unique_ptr<git_blob, Free<git_blob, git_blob_free>>;
using GitObject = std::unique_ptr<git_object, Free<git_object, git_object_free>>;
using GitRevwalk = std::unique_ptr<git_revwalk, Free<git_revwalk, git_revwalk_free>>;
using GitReferenceIterator =
    std::unique_ptr<git_reference_iterator, Free<git_reference_iterator, git_reference_iterator_free>>;
using GitTreebuilder = std::unique_ptr<git_treebuilder, Free<git_treebuilder, git_treebuilder_free>>;
using GitSignature = std::unique_ptr<git_signature, Free<git_signature, git_signature_free>>;

/// Turns a failed libgit2 call (rc < 0) into Internal("<what>: <libgit2 message>") and logs it.
/// Must be called right after the failing call: git_error_last() is thread-local and overwritten
/// by the next libgit2 call.
Status GitFailure(std::string_view what, int rc);

/// The message of git_error_last(), or "error <rc>" when libgit2 set none.
std::string LastGitMessage(int rc);

/// Opens the bare repository at `path` with git_repository_open_bare, which (unlike
/// git_repository_open) skips libgit2's ownership check that fails with a misleading
/// GIT_ENOTFOUND for repos owned by another uid (docs/platform-notes.md#libgit2).
/// Errors: NotFound("Repository not found") when there is no repository at `path`; Internal otherwise.
Result<GitRepo> OpenBare(const std::string& path);

/// Formats an oid as 40 lower-case hex digits.
std::string OidHex(const git_oid& oid);

}  // namespace kod::git
