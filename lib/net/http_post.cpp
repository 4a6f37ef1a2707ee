#include "lib/net/http_post.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "lib/core/clock.h"

namespace kod::net {
namespace {

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Exchange {
  const AllowList* allowed = nullptr;
  std::string host;
  std::string refused;  // set when the address curl wanted to connect to was refused
  size_t read = 0;
  size_t max = 0;
};

// The outbound check on the address curl is about to connect to (after its DNS lookup).
curl_socket_t OpenSocket(void* data, curlsocktype purpose, curl_sockaddr* addr) {
  auto* ex = static_cast<Exchange*>(data);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  Status ok = CheckAddress(ex->host, &addr->addr, *ex->allowed);
  if (!ok.ok()) {
    ex->refused = ok.message;
    return CURL_SOCKET_BAD;
  }
  return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

size_t Discard(char*, size_t size, size_t n, void* data) {
  auto* ex = static_cast<Exchange*>(data);
  ex->read += size * n;
  return ex->read > ex->max ? 0 : size * n;  // 0 ends the transfer: enough has been read
}

}  // namespace

PostResult Post(const PostRequest& rq, const AllowList& allowed) {
  InitCurl();
  PostResult out;
  const int64_t start = MonotonicMs();
  auto url = ParseUrl(rq.url, {"http", "https"}, "url");
  if (!url.ok()) {
    out.error = url.status().message;
    return out;
  }
  Exchange ex{&allowed, url->host, "", 0, rq.max_response_bytes};
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  curl_slist* list = nullptr;
  for (const auto& [k, v] : rq.headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  headers.reset(list);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, rq.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // never a proxy from the environment
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(rq.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(rq.timeout_ms));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(rq.body.size()));
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OpenSocket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &ex);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status > 0) out.status = static_cast<int>(status);
  if (!ex.refused.empty()) out.error = ex.refused;
  else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && status > 0)) out.error = curl_easy_strerror(rc);
  out.duration_ms = MonotonicMs() - start;
  return out;
}

}  // namespace kod::net
