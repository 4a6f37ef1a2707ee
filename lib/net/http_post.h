// One outbound HTTP POST under the outbound rules (webhook deliveries): libcurl, a total deadline,
// no redirects, no proxies, at most a few KiB of the answer read, and the connection made only to
// an address checked after DNS resolution (the check runs on the very address curl connects to).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/core/status.h"
#include "lib/net/outbound.h"

namespace kod::net {

struct PostRequest {
  std::string url;                                          // http(s)://, checked by ParseUrl
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int timeout_ms = 5000;        // the whole exchange: DNS, connect, TLS, send, answer
  size_t max_response_bytes = 4096;  // read at most this much of the answer body
};

struct PostResult {
  std::optional<int> status;  // the HTTP status, when an answer's status line arrived
  std::string error;          // why the exchange failed ("" when it completed)
  int64_t duration_ms = 0;
};

/// Sends `rq`. Never throws; every failure (a refused address, DNS, timeout, TLS) is in `error`.
/// A redirect is not followed: its 3xx status is the result.
PostResult Post(const PostRequest& rq, const AllowList& allowed);

}  // namespace kod::net
