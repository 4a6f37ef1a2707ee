#include "fcgi/router.h"

#include <set>

#include "lib/core/log.h"
#include "lib/service/tokens.h"

namespace kod::fcgi {

std::optional<std::vector<std::string>> SplitPath(const std::string& raw) {
  if (raw.empty() || raw[0] != '/') return std::nullopt;
  std::string p = raw.substr(1);
  if (!p.empty() && p.back() == '/') p.pop_back();
  std::vector<std::string> out;
  if (p.empty()) return out;
  size_t pos = 0;
  while (true) {
    size_t slash = p.find('/', pos);
    std::string seg = p.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (seg.empty()) return std::nullopt;
    auto decoded = PercentDecode(seg);
    if (!decoded || decoded->empty() || decoded->find('\0') != std::string::npos) return std::nullopt;
    out.push_back(std::move(*decoded));
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return out;
}

namespace {

std::vector<std::string> SplitPattern(const char* pattern) {
  std::vector<std::string> parts;
  std::string_view rest(pattern + 1);
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return parts;
}

// The route table's patterns, split once (Dispatch runs per request; bench/api).
const std::vector<std::vector<std::string>>& CompiledPatterns() {
  static const std::vector<std::vector<std::string>> compiled = [] {
    std::vector<std::vector<std::string>> out;
    for (const Route& r : Routes()) out.push_back(SplitPattern(r.pattern));
    return out;
  }();
  return compiled;
}

bool Match(const std::vector<std::string>& parts, const std::vector<std::string>& segments,
           std::map<std::string, std::string>* args) {
  if (parts.size() != segments.size()) return false;
  static const std::string kGit = ".git";
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    const std::string& s = segments[i];
    if (p[0] != ':') {
      if (p != s) return false;
    } else if (p.size() > kGit.size() && p.compare(p.size() - kGit.size(), kGit.size(), kGit) == 0) {
      if (s.size() <= kGit.size() || s.compare(s.size() - kGit.size(), kGit.size(), kGit) != 0) return false;
    }
  }
  if (args == nullptr) return true;
  args->clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p[0] != ':') continue;
    if (p.size() > kGit.size() && p.compare(p.size() - kGit.size(), kGit.size(), kGit) == 0)
      (*args)[p.substr(1, p.size() - 1 - kGit.size())] = segments[i].substr(0, segments[i].size() - kGit.size());
    else
      (*args)[p.substr(1)] = segments[i];
  }
  return true;
}

}  // namespace

bool MatchPattern(const char* pattern, const std::vector<std::string>& segments,
                  std::map<std::string, std::string>& args) {
  return Match(SplitPattern(pattern), segments, &args);
}

namespace {

const std::string kGet = "GET";

std::string Join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

void Dispatch(Request& rq, Response& rs) {
  auto segments = SplitPath(rq.path());
  const Route* route = nullptr;
  const auto& routes = Routes();
  const auto& patterns = CompiledPatterns();
  // HEAD is answered wherever GET is, by the GET route; the writer leaves the body out
  // (docs/api.md#head-and-options).
  const bool head = rq.method() == "HEAD";
  rs.head = head;
  const std::string& method = head ? kGet : rq.method();
  if (segments) {
    for (size_t i = 0; i < routes.size() && route == nullptr; ++i)
      if (method == routes[i].method && Match(patterns[i], *segments, &rq.args())) route = &routes[i];
  }
  // The methods served at this path: only needed for OPTIONS and 405 (not on the hot path).
  auto allowed_methods = [&] {
    std::set<std::string> allowed;
    if (segments)
      for (size_t i = 0; i < routes.size(); ++i)
        if (Match(patterns[i], *segments, nullptr)) allowed.insert(routes[i].method);
    if (allowed.count(kGet)) allowed.insert("HEAD");
    return allowed;
  };
  if (rq.method() == "OPTIONS") {
    std::set<std::string> allowed = allowed_methods();
    // CORS preflight on any path (docs/api.md#head-and-options).
    std::set<std::string> methods = allowed.empty() ? std::set<std::string>{"GET", "POST", "PUT", "PATCH", "DELETE"}
                                                    : allowed;
    methods.insert("OPTIONS");
    rs.Empty(204);
    rs.headers.emplace_back("Access-Control-Allow-Methods", Join(methods));
    rs.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type, Git-Protocol");
    rs.headers.emplace_back("Access-Control-Max-Age", "86400");
    return;
  }
  if (route == nullptr) {
    std::set<std::string> allowed = allowed_methods();
    if (allowed.empty()) return rs.Error(NotFound("Not found"));
    allowed.insert("OPTIONS");
    rs.Error({Code::MethodNotAllowed, "Method not allowed"});
    rs.headers.emplace_back("Allow", Join(allowed));
    return;
  }
  if (route->guard != Guard::Public) {
    auto who = service::Authenticate(rq.env(), rq.Param("HTTP_AUTHORIZATION"));
    if (!who.ok()) return rs.Error(who.status());
    rq.principal() = std::move(*who);
    // Permission, Admin and GitService routes name their permission (a unit test walks the
    // table); were one missing, only an admin would pass.
    auth::Permission needed = route->permission.value_or(auth::Permission::Admin);
    if (route->guard == Guard::GitService)
      needed = rq.QueryValue("service") == std::optional<std::string>("git-receive-pack") ? auth::Permission::RepoWrite
                                                                                           : auth::Permission::RepoRead;
    if (route->guard != Guard::Token && !rq.principal().Has(needed))
      return rs.Error(PermissionDenied(route->guard == Guard::Admin ? "Admin permission required" : "Permission denied"));
  }
  try {
    Status s = route->handler(rq, rs);
    if (!s.ok()) {
      if (rs.streamed) {
        log::Error("stream ended with an error: " + s.message);
        return;
      }
      rs.headers.clear();
      rs.Error(s);
    }
  } catch (const std::exception& e) {
    log::Error(std::string("handler failed: ") + e.what());
    if (!rs.streamed) {
      rs.headers.clear();
      rs.Error(Internal("Internal error"));
    }
  }
}

}  // namespace kod::fcgi
