// Git smart HTTP: runs one request through `git http-backend`, streaming the body in and the answer out.
//
// Sources: git-http-backend(1) for the CGI variables. Verified with Debian 12's git 2.39: omit
// CONTENT_LENGTH for chunked bodies (git then reads to EOF), forward Content-Encoding and
// Git-Protocol (without it git silently falls back to protocol v0), a non-empty REMOTE_USER
// enables receive-pack; kill the whole group when the client goes away.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "lib/core/status.h"

namespace kod::fcgi {

/// One git smart-HTTP request, already authenticated and authorized by the caller.
struct CgiRequest {
  std::string method;            ///< "GET" or "POST"
  std::string path_info;         ///< "/<name>.git/info/refs" etc., relative to project_root
  std::string query_string;      ///< e.g. "service=git-upload-pack" (may be empty)
  std::string content_type;      ///< request Content-Type ("" if none)
  std::string content_length;    ///< decimal; "" when unknown (chunked push): CONTENT_LENGTH is then absent
  std::string content_encoding;  ///< request Content-Encoding (git sends "gzip" bodies), "" if none
  std::string git_protocol;      ///< the Git-Protocol header ("version=2"); dropped unless it is
                                 ///< 1–256 chars of [A-Za-z0-9=:._-]
  std::string remote_user;       ///< the token id; non-empty enables receive-pack in http-backend
  std::string remote_addr;
};

/// The client side of the exchange; the lead adapts the FastCGI request to it.
class BridgeIo {
 public:
  virtual ~BridgeIo() = default;
  /// Up to `n` body bytes: blocks until at least one byte has arrived, or EOF, or an error;
  /// returns the count, 0 at EOF, -1 on error (client gone, or nothing arrived for the idle
  /// timeout: implementations bound the wait).
  virtual long ReadBody(char* buf, size_t n) = 0;
  /// Raw bytes to the client: first the CGI header block exactly as git printed it (a valid
  /// FastCGI response header block), then the body. False if the client went away.
  virtual bool WriteOut(const char* data, size_t n) = 0;
  /// Pushes what was written so far to the client. False if the client went away (or took
  /// nothing for the idle timeout: implementations bound the wait).
  virtual bool FlushOut() = 0;
  /// A descriptor that reports POLLHUP/POLLRDHUP/POLLERR once the client is gone (the FastCGI
  /// connection: nginx closes it when its client goes away), watched while the child is silent;
  /// -1 when there is none.
  virtual int ClientFd() const { return -1; }
  /// Ends the response as broken (the client must see a cut transfer, not a complete answer
  /// with a truncated body, which git's client waits on forever). Called after output has
  /// started when the exchange cannot finish (idle timeout, bridge failure).
  virtual void Abort() {}
};

struct BridgeConfig {
  std::string git_exe = "/usr/bin/git";  ///< absolute path, run as `<git_exe> http-backend`
  std::string project_root;              ///< repos_dir: GIT_PROJECT_ROOT
  /// Passed as GIT_CONFIG_COUNT / GIT_CONFIG_KEY_<n> / GIT_CONFIG_VALUE_<n> (git-config(1),
  /// "ENVIRONMENT"), e.g. {"core.hooksPath", "/usr/lib/kod/hooks"}, {"safe.directory", "*"}.
  std::vector<std::pair<std::string, std::string>> git_config;
  /// Further variables for git and its hooks (e.g. what the post-receive hook needs, or HOME,
  /// or GIT_HTTP_MAX_REQUEST_BUFFER). May override PATH; may not set any variable the bridge
  /// derives from the request or the config above (that is a configuration error).
  std::vector<std::pair<std::string, std::string>> extra_env;
  /// git.idle_timeout_s: the exchange is ended (the child's whole group killed) when no byte has
  /// moved either way (request body in, child output out) for this long.
  std::chrono::milliseconds idle_timeout{60000};
};

/// The complete environment of the `git http-backend` child for `rq` (nothing comes from this
/// process's environ), in this order:
///   GIT_PROJECT_ROOT, GIT_HTTP_EXPORT_ALL=1, PATH=/usr/bin:/bin, REQUEST_METHOD, PATH_INFO,
///   QUERY_STRING (always, possibly empty), then only when non-empty: CONTENT_TYPE,
///   CONTENT_LENGTH (POST only: a GET's body is never sent to git, and a CONTENT_LENGTH without
///   its body made http-backend spin), HTTP_CONTENT_ENCODING, GIT_PROTOCOL (only if valid), REMOTE_USER,
///   REMOTE_ADDR; then GIT_CONFIG_COUNT and GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n when git_config
///   is non-empty; then extra_env (an extra PATH replaces the default one).
/// HOME is deliberately not set: git then reads no per-user config, only the system config and
/// git_config; add HOME through extra_env if hooks need one.
/// Errors: InvalidArgument for a method other than GET/POST, a non-decimal content_length, a
/// path_info not starting with '/', or a NUL in any field; Internal for a bad BridgeConfig
/// (empty project_root, empty or NUL-holding git_config key, extra_env setting a reserved name).
Result<std::vector<std::pair<std::string, std::string>>> GitHttpBackendEnv(const CgiRequest& rq,
                                                                           const BridgeConfig& cfg);

/// Runs one smart-HTTP exchange through `git http-backend` and returns once the child was reaped.
///
/// Streaming, bounded memory whatever the body or pack size (at most about 1.2 MiB of buffers
/// per request: two 64 KiB chunks and 1 MiB of held output): the
/// request body is read with io.ReadBody in 64 KiB chunks only when the child's stdin is
/// writable, and the child's stdin is closed at body EOF (a GET has no body). While body is still
/// being sent, child stdout is held back (up to 1 MiB; past that it is passed on at once rather
/// than stall the child), then everything is passed to io.WriteOut + io.FlushOut as it arrives.
/// Child stderr goes to the log (bounded). The CGI header block is passed through unchanged and
/// only parsed to log the Status.
///
/// Returns Ok once the child was reaped, including when the client went away (WriteOut/FlushOut
/// false, ReadBody -1, or io.ClientFd() hung up): then the child's whole process group gets
/// SIGTERM and, after a short grace, SIGKILL. The same happens when nothing moved either way for
/// cfg.idle_timeout (a client that stopped sending mid-body, a child that stopped answering), so
/// no child outlives its request by more than the grace; when part of the answer was already
/// sent, io.Abort() then cuts the response. A child that closes its stdin early
/// (git answering 403 before reading a push) just ends the body upload. Returns an error only if
/// nothing was written to the client, so the caller can still answer with JSON: the errors of
/// GitHttpBackendEnv, Internal when the spawn failed, Internal when git exited without any
/// output, Unavailable when the idle timeout ended it.
/// Requires SIGCHLD not to be SIG_IGN (waitpid would fail with ECHILD). SIGPIPE may have any
/// disposition: writes to the child's stdin block it for the calling thread and consume the
/// one they raise. Blocks the calling thread for the whole exchange (one request per worker).
Status ServeGitHttp(const CgiRequest& rq, const BridgeConfig& cfg, BridgeIo& io);

}  // namespace kod::fcgi
