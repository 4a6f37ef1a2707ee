// Smart HTTP routes (api.md Git over HTTP): authorization happened in the dispatcher and in
// ResolveRepo; the exchange itself is git's own `git http-backend`, streamed by the bridge.
#include <fcgiapp.h>

#include "fcgi/git_bridge.h"
#include "fcgi/handlers/handlers.h"
#include "lib/service/repos.h"

namespace kod::fcgi::handlers {
namespace {

// BridgeIo over the FastCGI request's streams.
class FcgiBridgeIo : public BridgeIo {
 public:
  explicit FcgiBridgeIo(FCGX_Request* raw) : raw_(raw) {}
  long ReadBody(char* buf, size_t n) override { return FCGX_GetStr(buf, static_cast<int>(n), raw_->in); }
  bool WriteOut(const char* data, size_t n) override {
    // The child's CGI header block comes first: one more header line before it keeps it valid.
    // Every answer carries the CORS origin header (docs/api.md#cors), git's too.
    if (!started_ && FCGX_PutS("Access-Control-Allow-Origin: *\r\n", raw_->out) < 0) return false;
    started_ = true;
    return FCGX_PutStr(data, static_cast<int>(n), raw_->out) >= 0;
  }
  bool FlushOut() override { return FCGX_FFlush(raw_->out) == 0; }

 private:
  FCGX_Request* raw_;
  bool started_ = false;
};

// What the post-receive hook (kod-hook) needs to reach the database and queue runs: the
// effective settings, passed explicitly (nothing is copied from the worker's own environment).
std::vector<std::pair<std::string, std::string>> HookEnv(const Config& c, const domain::Repo& repo) {
  return {
      {"KOD_CONFIG", c.path},
      {"KOD_DB_HOST", c.db_host},
      {"KOD_DB_PORT", std::to_string(c.db_port)},
      {"KOD_DB_SOCKET", c.db_socket},
      {"KOD_DB_USER", c.db_user},
      {"KOD_DB_PASSWORD", c.db_password},
      {"KOD_DB_NAME", c.db_name},
      {"KOD_REPOS_DIR", c.repos_dir},
      {"KOD_RUNNER_WAKE_DIR", c.wake_dir},
      {"KOD_HOOK_REPO_ID", std::to_string(repo.id)},
      {"KOD_HOOK_REPO_NAME", repo.name},
  };
}

Status Serve(Request& rq, Response& rs, const std::string& rest) {
  auto ref = service::ResolveRepo(rq.env(), rq.principal(), rq.Arg("name"));
  if (!ref.ok()) return ref.status();
  const Config& c = rq.env().config;
  CgiRequest cgi;
  cgi.method = rq.method();
  cgi.path_info = "/" + ref->repo.name + ".git/" + rest;
  // Only the validated service reaches git, so git serves exactly what the permission check saw
  // (a query repeating service= must not get one service authorized and the other served).
  cgi.query_string = rest == "info/refs" ? "service=" + *rq.QueryValue("service") : "";
  cgi.content_type = rq.Param("CONTENT_TYPE");
  cgi.content_length = rq.Param("CONTENT_LENGTH");
  cgi.content_encoding = rq.Param("HTTP_CONTENT_ENCODING");
  cgi.git_protocol = rq.Param("HTTP_GIT_PROTOCOL");
  cgi.remote_user = rq.principal().token_id;
  cgi.remote_addr = rq.Param("REMOTE_ADDR");
  BridgeConfig cfg;
  cfg.project_root = c.repos_dir;
  cfg.git_config = {
      {"core.hooksPath", c.hooks_dir},
      {"safe.directory", "*"},
      // Every push is kept as a pack, never exploded into loose objects (git's default below 100
      // objects), which made the next clone 8-15x slower (bench/git); receive-pack's detached
      // `gc --auto` then merges packs once gc.autoPackLimit of them pile up.
      {"receive.unpackLimit", "1"},
      {"receive.autogc", "true"},
  };
  cfg.extra_env = HookEnv(c, ref->repo);
  // A push holds the repository's lock shared, so a rename or delete waits for it (or answers
  // 409) instead of moving the directory git is writing into.
  service::RepoLock in_use;
  if (rest == "git-receive-pack") {
    auto lock = service::RepoLock::Shared(c, ref->repo.id);
    if (!lock.ok()) return lock.status();
    in_use = std::move(*lock);
  }
  FcgiBridgeIo io(rq.raw());
  Status s = ServeGitHttp(cgi, cfg, io);
  if (s.ok()) {
    rs.streamed = true;
    rs.status = 200;
  }
  return s;
}

}  // namespace

Status GitInfoRefs(Request& rq, Response& rs) {
  auto service = rq.QueryValue("service");
  if (!service || (*service != "git-upload-pack" && *service != "git-receive-pack"))
    return NotFound("Not found");  // dumb HTTP is not served
  return Serve(rq, rs, "info/refs");
}

Status GitUploadPack(Request& rq, Response& rs) { return Serve(rq, rs, "git-upload-pack"); }
Status GitReceivePack(Request& rq, Response& rs) { return Serve(rq, rs, "git-receive-pack"); }

}  // namespace kod::fcgi::handlers
