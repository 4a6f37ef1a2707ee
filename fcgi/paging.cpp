#include "fcgi/paging.h"

#include <cstdlib>
#include <vector>

#include "lib/core/limits.h"

namespace kod::fcgi {
namespace {

constexpr int kPerPageDefault = 30;

// A decimal integer without sign or other characters, or nullopt (also beyond int64 range).
std::optional<int64_t> ParseCount(const std::string& s) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::strtoll(s.c_str(), nullptr, 10);
}

std::string PageUrl(const std::string& path, const std::string& kept_query, int64_t page, int per_page) {
  return path + "?" + kept_query + (kept_query.empty() ? "" : "&") + "page=" + std::to_string(page) +
         "&per_page=" + std::to_string(per_page);
}

// `query` without its page and per_page parameters, as sent otherwise.
std::string KeptQuery(const std::string& query) {
  std::string out;
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    std::string part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    std::string key = part.substr(0, part.find('='));
    if (!part.empty() && key != "page" && key != "per_page") out += (out.empty() ? "" : "&") + part;
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

}  // namespace

Result<std::optional<domain::PageRequest>> ParsePageRequest(const Request& rq) {
  return ParsePageParams(rq.QueryValue("page"), rq.QueryValue("per_page"));
}

Result<std::optional<domain::PageRequest>> ParsePageParams(const std::optional<std::string>& page,
                                                           const std::optional<std::string>& per_page) {
  if (!page && !per_page) return std::optional<domain::PageRequest>();
  domain::PageRequest p;
  p.per_page = kPerPageDefault;
  if (page) {
    auto n = ParseCount(*page);
    if (!n || *n < 1) return InvalidArgument("page must be an integer of at least 1");
    p.page = *n;
  }
  if (per_page) {
    auto n = ParseCount(*per_page);
    if (!n || *n < 1 || *n > limits::kPerPageMax)
      return InvalidArgument("per_page must be an integer from 1 to " + std::to_string(limits::kPerPageMax));
    p.per_page = static_cast<int>(*n);
  }
  return std::optional<domain::PageRequest>(p);
}

std::string LinkHeader(const std::string& path, const std::string& query, const domain::PageRequest& p,
                       int64_t total) {
  const std::string kept = KeptQuery(query);
  const int64_t last = total <= 0 ? 1 : (total + p.per_page - 1) / p.per_page;
  std::vector<std::pair<int64_t, const char*>> links = {{1, "first"}};
  if (p.page > 1) links.emplace_back(std::min(p.page - 1, last), "prev");
  if (p.page < last) links.emplace_back(p.page + 1, "next");
  links.emplace_back(last, "last");
  std::string out;
  for (const auto& [page, rel] : links) {
    if (!out.empty()) out += ", ";
    out += "<" + PageUrl(path, kept, page, p.per_page) + ">; rel=\"" + rel + "\"";
  }
  return out;
}

void AddPageHeaders(const Request& rq, Response& rs, const domain::PageRequest& p, int64_t total) {
  // The path as the client sent it (REQUEST_URI keeps any base path nginx serves Kod under).
  std::string uri = rq.Param("REQUEST_URI");
  std::string path = uri.substr(0, uri.find('?'));
  if (path.empty()) path = rq.path();
  rs.headers.emplace_back("X-Total-Count", std::to_string(total));
  rs.headers.emplace_back("Link", LinkHeader(path, rq.query(), p, total));
}

}  // namespace kod::fcgi
