// Pagination of list routes (docs/api.md#pagination): `?page=N&per_page=M` parsed once, and the
// `X-Total-Count` and RFC 8288 `Link` headers of the answer. Any list route can use it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fcgi/http.h"
#include "lib/core/status.h"
#include "lib/domain/page.h"

namespace kod::fcgi {

/// The page the request asks for: nullopt when it names neither `page` nor `per_page` (the route
/// then answers as it did before pagination). A missing one of the two takes its default (page 1,
/// per_page 30). Errors: 400 "page must be an integer of at least 1", 400 "per_page must be an
/// integer from 1 to 100".
Result<std::optional<domain::PageRequest>> ParsePageRequest(const Request& rq);
/// The same rule on the two (percent-decoded) query values.
Result<std::optional<domain::PageRequest>> ParsePageParams(const std::optional<std::string>& page,
                                                           const std::optional<std::string>& per_page);

/// The `Link` header value for page `p` of a list of `total` items: `first`, `prev`, `next`,
/// `last` where they exist, each a URL of path and query (no scheme or host). `path` is the path
/// the client used (base path included), `query` its query string: every parameter but `page`
/// and `per_page` is kept as sent. `last` is page 1 for an empty list; `prev` of a page past the
/// end is the last page.
std::string LinkHeader(const std::string& path, const std::string& query, const domain::PageRequest& p,
                       int64_t total);

/// Adds `X-Total-Count` and `Link` (for the request's own path and query) to `rs`.
void AddPageHeaders(const Request& rq, Response& rs, const domain::PageRequest& p, int64_t total);

}  // namespace kod::fcgi
