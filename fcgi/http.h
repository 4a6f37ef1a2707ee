// The request and response of one FastCGI exchange, and the one mapping of Status codes to HTTP.
#pragma once

#include <fcgiapp.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <json/json.h>

#include "fcgi/log_follow.h"
#include "lib/auth/permissions.h"
#include "lib/core/limits.h"
#include "lib/core/status.h"
#include "lib/service/env.h"

namespace kod::fcgi {

/// API bodies over limits::kMaxBodyBytes are refused with 413 (docs/api.md#conventions).
inline constexpr size_t kMaxApiBody = limits::kMaxBodyBytes;

/// The HTTP status for a Code: the only place Codes become 4xx/5xx (docs/development.md#errors).
int HttpStatusFor(Code code);
const char* ReasonPhrase(int status);

/// One incoming request. Path parameters are percent-decoded once (docs/api.md#paths).
class Request {
 public:
  Request(FCGX_Request* raw, service::Env& env);

  const std::string& method() const { return method_; }
  const std::string& path() const { return path_; }    // raw path without the query and base path
  const std::string& query() const { return query_; }
  /// A CGI parameter (e.g. "CONTENT_TYPE", "HTTP_AUTHORIZATION"); "" when absent.
  std::string Param(const char* name) const;
  /// Value of `key` in the query string (percent-decoded), or nullopt.
  std::optional<std::string> QueryValue(const std::string& key) const;
  /// A path parameter of the matched route (":name" → "name").
  const std::string& Arg(const std::string& key) const;

  /// Reads the whole body, at most kMaxApiBody bytes. PayloadTooLarge beyond that.
  Result<std::string> Body();
  /// Body() parsed as JSON (whatever Content-Type says; an empty body is {}).
  /// Errors: 413, 400 "Invalid JSON body".
  Result<Json::Value> JsonBody();

  FCGX_Request* raw() { return raw_; }
  service::Env& env() { return env_; }
  auth::Principal& principal() { return principal_; }
  std::map<std::string, std::string>& args() { return args_; }

 private:
  FCGX_Request* raw_;
  service::Env& env_;
  std::string method_, path_, query_;
  std::map<std::string, std::string> args_;
  auth::Principal principal_;
  std::optional<std::string> body_;
};

/// The response being built. Handlers set it; the dispatcher writes it (CORS header always added).
/// A handler that streamed its own answer (git) sets `streamed` and `status` for the access log.
struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool streamed = false;
  /// The request was HEAD: WriteResponse sends the status and headers (Content-Length of the
  /// body GET would send) and no body.
  bool head = false;
  /// Set by a log handler asked to follow: the worker hands the request to its LogFollowers
  /// instead of writing this response.
  std::optional<LogFollow> follow;

  void Json(int code, const Json::Value& value);
  /// A body that is already serialized JSON (from a cache of Json() output).
  void RawJson(int code, std::string json);
  void Empty(int code);
  /// {"error": message} with the HTTP status of s.code.
  void Error(const Status& s);
};

/// Writes `rs` as a CGI/FastCGI response block on `out` (sent by FCGX_Finish_r). Returns false
/// if the client is known to be gone.
bool WriteResponse(FCGX_Stream* out, const Response& rs);

/// The request path seen by the router: `path` (raw, undecoded) without the configured
/// `server.base_path` prefix (docs/nginx.md). A path outside the prefix gives "" (a 404).
std::string WithoutBasePath(const std::string& path, const std::string& base);

/// Percent-decodes `in` once. nullopt for a malformed escape.
std::optional<std::string> PercentDecode(std::string_view in);

}  // namespace kod::fcgi
