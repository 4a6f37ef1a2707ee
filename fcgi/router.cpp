#include "fcgi/router.h"

#include <set>
#include <sstream>

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

bool MatchPattern(const char* pattern, const std::vector<std::string>& segments,
                  std::map<std::string, std::string>& args) {
  std::vector<std::string> parts;
  std::stringstream ss(pattern + 1);
  for (std::string part; std::getline(ss, part, '/');) parts.push_back(part);
  if (parts.size() != segments.size()) return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    const std::string& s = segments[i];
    if (p[0] != ':') {
      if (p != s) return false;
      continue;
    }
    const std::string suffix = ".git";
    if (p.size() > suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
      if (s.size() <= suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
      found[p.substr(1, p.size() - 1 - suffix.size())] = s.substr(0, s.size() - suffix.size());
    } else {
      // A plain ":arg" never captures a segment meant for a ":arg.git" route of the same shape.
      found[p.substr(1)] = s;
    }
  }
  args = std::move(found);
  return true;
}

namespace {

std::string Join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

void Dispatch(Request& rq, Response& rs) {
  auto segments = SplitPath(rq.path());
  const Route* route = nullptr;
  std::set<std::string> allowed;
  if (segments) {
    for (const Route& r : Routes()) {
      std::map<std::string, std::string> args;
      if (!MatchPattern(r.pattern, *segments, args)) continue;
      allowed.insert(r.method);
      if (route == nullptr && rq.method() == r.method) {
        route = &r;
        rq.args() = std::move(args);
      }
    }
  }
  if (rq.method() == "OPTIONS") {
    // CORS preflight on any path (decisions.md §1).
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
    auth::Permission needed = route->permission;
    if (route->guard == Guard::GitService)
      needed = rq.QueryValue("service") == std::optional<std::string>("git-receive-pack") ? auth::Permission::RepoWrite
                                                                                           : auth::Permission::RepoRead;
    if (!rq.principal().Has(needed))
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
