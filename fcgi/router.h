// The route table (data: method, path pattern, permission, handler) and the dispatcher that
// authenticates and checks the permission before any handler runs (docs/development.md#the-route-table, docs/api.md#order-of-checks).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fcgi/http.h"

namespace kod::fcgi {

using Handler = Status (*)(Request&, Response&);

/// How a route is guarded. Public routes skip authentication (only /health); Token routes need
/// any valid token and no particular permission (e.g. /limits).
enum class Guard { Public, Token, Permission, Admin, GitService };

/// The `permission` of Public and Token routes: they need none.
inline constexpr std::optional<auth::Permission> kNoPermission = std::nullopt;

/// One row of the table. Pattern segments: literals, ":arg", or ":arg.git" (a segment ending in
/// ".git", the prefix captured). `permission` is what the principal needs: none for Public and
/// Token routes, one for every other route. GitService: the permission follows `?service=`
/// (git-receive-pack → repo:write, otherwise repo:read; docs/api.md#git-over-http).
struct Route {
  const char* method;
  const char* pattern;
  Guard guard;
  std::optional<auth::Permission> permission;
  Handler handler;
};

/// The table, in one place (fcgi/routes.cpp).
const std::vector<Route>& Routes();

/// Splits a raw request path into percent-decoded segments. One trailing "/" is accepted;
/// an empty segment ("//"), a bad escape or a path not starting with "/" gives nullopt (→ 404).
std::optional<std::vector<std::string>> SplitPath(const std::string& raw_path);

/// Matches `segments` against `pattern`, filling `args` on success.
bool MatchPattern(const char* pattern, const std::vector<std::string>& segments,
                  std::map<std::string, std::string>& args);

/// Handles one request end to end: route, 404/405/OPTIONS, authenticate (401), permission (403),
/// handler; fills `rs` unless the handler streamed. Never throws.
void Dispatch(Request& rq, Response& rs);

}  // namespace kod::fcgi
