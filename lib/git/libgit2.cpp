#include "lib/git/libgit2.h"

#include <mutex>

#include "lib/core/log.h"

namespace kod::git {

void Init() {
  static std::once_flag once;
  std::call_once(once, [] { git_libgit2_init(); });
}

std::string LastGitMessage(int rc) {
  const git_error* e = git_error_last();
  if (e && e->message && *e->message) return e->message;
  return "error " + std::to_string(rc);
}

Status GitFailure(std::string_view what, int rc) {
  std::string msg = std::string(what) + ": " + LastGitMessage(rc);
  log::Error("libgit2: " + msg);
  return Internal(std::move(msg));
}

Result<GitRepo> OpenBare(const std::string& path) {
  Init();
  git_repository* raw = nullptr;
  int rc = git_repository_open_bare(&raw, path.c_str());
  GitRepo repo(raw);
  if (rc == GIT_ENOTFOUND) {
    log::Warn("libgit2: no repository at " + path + ": " + LastGitMessage(rc));
    return NotFound("Repository not found");
  }
  if (rc < 0) return GitFailure("open repository " + path, rc);
  return repo;
}

std::string OidHex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return std::string(buf, GIT_OID_HEXSZ);
}

}  // namespace kod::git
