#include "lib/net/outbound.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

namespace kod::net {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

// The address bytes of `addr` (4 or 16), IPv4-mapped IPv6 unwrapped to IPv4.
int Bytes(const sockaddr* addr, unsigned char out[16]) {
  if (addr->sa_family == AF_INET) {
    std::memcpy(out, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, 4);
    return AF_INET;
  }
  if (addr->sa_family == AF_INET6) {
    const auto* a6 = &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
      std::memcpy(out, a6->s6_addr + 12, 4);
      return AF_INET;
    }
    std::memcpy(out, a6->s6_addr, 16);
    return AF_INET6;
  }
  return 0;
}

bool PrefixMatches(const unsigned char* a, const unsigned char* b, int bits) {
  int full = bits / 8, rest = bits % 8;
  if (std::memcmp(a, b, full) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

// Parses "a.b.c.d", "v6", with an optional "/prefix".
bool ParseNet(const std::string& text, int& family, unsigned char bytes[16], int& prefix) {
  std::string addr = text;
  int max_prefix = 0;
  size_t slash = text.find('/');
  if (slash != std::string::npos) addr = text.substr(0, slash);
  if (inet_pton(AF_INET, addr.c_str(), bytes) == 1) family = AF_INET, max_prefix = 32;
  else if (inet_pton(AF_INET6, addr.c_str(), bytes) == 1) family = AF_INET6, max_prefix = 128;
  else return false;
  prefix = max_prefix;
  if (slash != std::string::npos) {
    const std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) return false;
    prefix = std::stoi(p);
    if (prefix > max_prefix) return false;
  }
  return true;
}

bool IsHostName(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.'; });
}

struct Range {
  int family;
  const char* net;
  int prefix;
  const char* kind;
};

// Address kinds refused unless allowed (docs/webhooks.md#outbound-rules).
const Range kRefused[] = {
    {AF_INET, "0.0.0.0", 8, "unspecified"},      {AF_INET, "127.0.0.0", 8, "loopback"},
    {AF_INET, "10.0.0.0", 8, "private"},         {AF_INET, "172.16.0.0", 12, "private"},
    {AF_INET, "192.168.0.0", 16, "private"},     {AF_INET, "169.254.0.0", 16, "link-local"},
    {AF_INET, "100.64.0.0", 10, "CGNAT"},        {AF_INET, "224.0.0.0", 4, "multicast"},
    {AF_INET, "240.0.0.0", 4, "reserved"},       {AF_INET6, "::", 128, "unspecified"},
    {AF_INET6, "::1", 128, "loopback"},          {AF_INET6, "fc00::", 7, "private"},
    {AF_INET6, "fe80::", 10, "link-local"},      {AF_INET6, "ff00::", 8, "multicast"},
};

using CurlUrl = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

std::string Part(CURLU* u, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(u, part, &raw, 0) != CURLUE_OK || raw == nullptr) return "";
  std::string out(raw);
  curl_free(raw);
  return out;
}

}  // namespace

Result<AllowList> AllowList::Parse(std::string_view list) {
  AllowList out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string entry = Lower(Trim(list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos)));
    if (!entry.empty()) {
      if (entry.front() == '[' && entry.back() == ']') entry = entry.substr(1, entry.size() - 2);
      Net n;
      if (ParseNet(entry, n.family, n.bytes, n.prefix)) out.nets_.push_back(n);
      else if (IsHostName(entry)) out.hosts_.push_back(entry);
      else return InvalidArgument("webhooks.allowed_hosts: '" + entry + "' is not a host name, address or CIDR");
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

bool AllowList::AllowsHost(std::string_view host) const {
  return std::find(hosts_.begin(), hosts_.end(), Lower(host)) != hosts_.end();
}

bool AllowList::AllowsAddress(const sockaddr* addr) const {
  unsigned char b[16];
  int family = Bytes(addr, b);
  for (const Net& n : nets_)
    if (n.family == family && PrefixMatches(b, n.bytes, n.prefix)) return true;
  return false;
}

std::optional<std::string> RefusedKind(const sockaddr* addr) {
  unsigned char b[16];
  int family = Bytes(addr, b);
  if (family == 0) return std::string("non-IP");
  for (const Range& r : kRefused) {
    if (r.family != family) continue;
    unsigned char net[16];
    inet_pton(r.family, r.net, net);
    if (PrefixMatches(b, net, r.prefix)) return std::string(r.kind);
  }
  return std::nullopt;
}

std::string AddressText(const sockaddr* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  unsigned char b[16];
  int family = Bytes(addr, b);
  if (family == 0 || inet_ntop(family, b, buf, sizeof buf) == nullptr) return "?";
  return buf;
}

Result<Url> ParseUrl(std::string_view text, const std::vector<std::string>& schemes, const std::string& what) {
  std::string list;
  for (const std::string& s : schemes) list += (list.empty() ? "" : ", ") + s + "://";
  const Status bad = InvalidArgument(what + " must be an absolute URL (" + list + ")");
  if (text.empty() || text.find_first_of(std::string_view("\0\r\n\t ", 5)) != std::string_view::npos) return bad;
  CurlUrl u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, std::string(text).c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return bad;
  Url out;
  out.scheme = Lower(Part(u.get(), CURLUPART_SCHEME));
  if (std::find(schemes.begin(), schemes.end(), out.scheme) == schemes.end()) return bad;
  out.host = Lower(Part(u.get(), CURLUPART_HOST));
  if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.find(']') - 1);
  if (out.host.empty()) return bad;
  out.has_credentials = !Part(u.get(), CURLUPART_USER).empty() || !Part(u.get(), CURLUPART_PASSWORD).empty();
  const std::string port = Part(u.get(), CURLUPART_PORT);
  out.port = !port.empty() ? std::atoi(port.c_str()) : out.scheme == "https" ? 443 : out.scheme == "git" ? 9418 : 80;
  unsigned char b[16];
  out.host_is_literal = inet_pton(AF_INET, out.host.c_str(), b) == 1 || inet_pton(AF_INET6, out.host.c_str(), b) == 1;
  return out;
}

Status CheckLiteralHost(const Url& url, const AllowList& allowed, const std::string& what) {
  if (!url.host_is_literal || allowed.AllowsHost(url.host)) return Status::Ok();
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, url.host.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) ss.ss_family = AF_INET;
  else if (inet_pton(AF_INET6, url.host.c_str(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1)
    ss.ss_family = AF_INET6;
  const auto* addr = reinterpret_cast<const sockaddr*>(&ss);
  if (allowed.AllowsAddress(addr)) return Status::Ok();
  if (auto kind = RefusedKind(addr)) return InvalidArgument(what + " points at a " + *kind + " address");
  return Status::Ok();
}

Status CheckAddress(const std::string& host, const sockaddr* addr, const AllowList& allowed) {
  if (allowed.AllowsHost(host) || allowed.AllowsAddress(addr)) return Status::Ok();
  if (auto kind = RefusedKind(addr))
    return InvalidArgument(host + " resolves to " + AddressText(addr) + ", a " + *kind +
                           " address (not in webhooks.allowed_hosts)");
  return Status::Ok();
}

}  // namespace kod::net
