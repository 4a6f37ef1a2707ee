// Outbound rules for connections Kod makes on a user's behalf (webhooks, imports;
// docs/webhooks.md#outbound-rules): which URLs are acceptable, and which addresses may be reached.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/status.h"

namespace kod::net {

/// webhooks.allowed_hosts parsed: host names (case-insensitive), addresses and CIDRs that are
/// reachable although their addresses are of a refused kind.
class AllowList {
 public:
  /// Parses a comma-separated list ("ci.example, 10.0.0.0/8, ::1, 127.0.0.1"); blanks are skipped.
  /// Errors: InvalidArgument naming the entry that is neither a host name, an address nor a CIDR.
  static Result<AllowList> Parse(std::string_view list);

  /// True when `host` (a URL's host, lower-cased, without brackets) is listed by name or address.
  bool AllowsHost(std::string_view host) const;
  /// True when `addr` lies in a listed address or CIDR.
  bool AllowsAddress(const sockaddr* addr) const;

 private:
  struct Net {
    int family = 0;
    unsigned char bytes[16] = {};
    int prefix = 0;
  };
  std::vector<std::string> hosts_;
  std::vector<Net> nets_;
};

/// Why `addr` is refused by default ("loopback", "private", "link-local", "CGNAT", "multicast",
/// "unspecified", ...), or nullopt for a public address. IPv4-mapped IPv6 addresses are judged
/// as the IPv4 address they carry.
std::optional<std::string> RefusedKind(const sockaddr* addr);

/// A URL split as outbound connections need it.
struct Url {
  std::string scheme;  // lower case: "http", "https", "git"
  std::string host;    // lower case; an IPv6 literal without brackets
  int port = 0;        // explicit, or the scheme's default
  bool has_credentials = false;
  bool host_is_literal = false;  // an IPv4 or IPv6 address
};

/// Parses an absolute URL with one of `schemes` (RFC 3986, through libcurl's URL parser).
/// Errors: InvalidArgument "<what> must be an http(s) URL" style messages built from `what`.
Result<Url> ParseUrl(std::string_view url, const std::vector<std::string>& schemes, const std::string& what);

/// The check at creation time: a URL whose literal host is a refused address (and not allowed)
/// is refused. Errors: InvalidArgument "<what> points at a <kind> address".
Status CheckLiteralHost(const Url& url, const AllowList& allowed, const std::string& what);

/// The check at connection time, on the address actually connected to: OK when the host name is
/// allowed, the address is allowed, or it is public; else InvalidArgument naming the address and
/// why.
Status CheckAddress(const std::string& host, const sockaddr* addr, const AllowList& allowed);

/// The address as text ("192.0.2.1", "2001:db8::1").
std::string AddressText(const sockaddr* addr);

}  // namespace kod::net
