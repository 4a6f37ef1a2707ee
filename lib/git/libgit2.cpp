#include "lib/git/libgit2.h"

#include <mutex>

#include "lib/core/log.h"

namespace kod::git {

void Init() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    // Repositories are Kod's own: no per-user or system git config is relevant to reading
    // them, and looking for it costs a dozen stat/access calls per open (bench/api).
    for (git_config_level_t level : {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL,
                                     GIT_CONFIG_LEVEL_PROGRAMDATA})
      git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, "");
    // The workers may run as another user than the repositories' owner (docs/platform-notes.md#libgit2).
    git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
  });
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
