// Smart HTTP routes (/repos/<name>.git/...): authorization happened in the dispatcher and in
// ResolveRepo; the exchange itself is git's own `git http-backend`, streamed by the bridge.
#include <fastcgi.h>
#include <fcgiapp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>

#include "fcgi/git_bridge.h"
#include "fcgi/handlers/handlers.h"
#include "lib/service/repos.h"

namespace kod::fcgi::handlers {
namespace {

// BridgeIo over the FastCGI request's streams. Every wait on the connection is bounded by the
// idle timeout (SO_RCVTIMEO/SO_SNDTIMEO: a blocked read or write then fails, and libfcgi reports
// the stream's error), so a client that stops sending a push or reading a clone cannot hold the
// worker. nginx closes the connection when its client goes away (fastcgi_keep_conn off), which
// ClientFd() lets the bridge see while git is silent.
class FcgiBridgeIo : public BridgeIo {
 public:
  FcgiBridgeIo(FCGX_Request* raw, std::chrono::milliseconds idle) : raw_(raw) {
    struct timeval tv = {static_cast<time_t>(idle.count() / 1000), static_cast<suseconds_t>(idle.count() % 1000 * 1000)};
    ::setsockopt(raw_->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(raw_->ipcFd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  ~FcgiBridgeIo() override {
    struct timeval none = {0, 0};
    ::setsockopt(raw_->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    ::setsockopt(raw_->ipcFd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  }
  // One byte (which waits for the next FastCGI record), then whatever that record already
  // brought: FCGX_GetStr alone would wait for all `n`.
  long ReadBody(char* buf, size_t n) override {
    FCGX_Stream* in = raw_->in;
    int got = FCGX_GetStr(buf, 1, in);
    if (got <= 0) return FCGX_GetError(in) != 0 ? -1 : 0;  // an error, or the body's end
    size_t buffered = static_cast<size_t>(in->stop - in->rdNext);
    size_t more = std::min(n - 1, buffered);
    if (more > 0) got += FCGX_GetStr(buf + 1, static_cast<int>(more), in);
    return got;
  }
  bool WriteOut(const char* data, size_t n) override {
    // The child's CGI header block comes first: one more header line before it keeps it valid.
    // Every answer carries the CORS origin header (docs/api.md#cors), git's too.
    if (!started_ && FCGX_PutS("Access-Control-Allow-Origin: *\r\n", raw_->out) < 0) return false;
    started_ = true;
    return FCGX_PutStr(data, static_cast<int>(n), raw_->out) >= 0;
  }
  bool FlushOut() override { return FCGX_FFlush(raw_->out) == 0; }
  int ClientFd() const override { return raw_->ipcFd; }
  // FastCGI has no record for "this response failed", and with fastcgi_keep_conn off nginx takes
  // an early close as the response's end (a clean last chunk). A record header nginx must reject
  // (version 0) makes it drop the client connection instead, so the client sees a cut transfer.
  // Everything written before was flushed (WriteOut is always followed by FlushOut).
  void Abort() override {
    static const unsigned char kBadRecord[8] = {0, FCGI_STDOUT, 0, 1, 0, 0, 0, 0};
    (void)!::send(raw_->ipcFd, kBadRecord, sizeof kBadRecord, MSG_NOSIGNAL);
    ::shutdown(raw_->ipcFd, SHUT_RDWR);  // nothing more from libfcgi on this connection
  }

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
      {"KOD_DEFAULT_BRANCH", c.default_branch},
      {"KOD_RUNNER_WAKE_DIR", c.wake_dir},
      {"KOD_JOBS_WAKE_DIR", c.jobs_wake_dir},
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
  cfg.idle_timeout = std::chrono::seconds(c.git_idle_timeout_s);
  FcgiBridgeIo io(rq.raw(), cfg.idle_timeout);
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
