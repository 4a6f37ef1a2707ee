// lib/net/outbound: URL rules, refused address kinds, and webhooks.allowed_hosts.
#include <arpa/inet.h>
#include <cppunit/extensions/HelperMacros.h>

#include "lib/net/outbound.h"

using namespace kod;
using namespace kod::net;

namespace {
sockaddr_storage Addr(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) ss.ss_family = AF_INET;
  else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) ss.ss_family = AF_INET6;
  return ss;
}
std::optional<std::string> Kind(const char* text) {
  auto ss = Addr(text);
  return RefusedKind(reinterpret_cast<sockaddr*>(&ss));
}
}  // namespace

class OutboundTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(OutboundTest);
  CPPUNIT_TEST(RefusedKinds);
  CPPUNIT_TEST(UrlRules);
  CPPUNIT_TEST(AllowListOpensHostsAddressesAndCidrs);
  CPPUNIT_TEST_SUITE_END();

  const std::vector<std::string> kHttp = {"http", "https"};

 public:
  void RefusedKinds() {
    CPPUNIT_ASSERT_EQUAL(std::string("loopback"), *Kind("127.0.0.1"));
    CPPUNIT_ASSERT_EQUAL(std::string("loopback"), *Kind("::1"));
    CPPUNIT_ASSERT_EQUAL(std::string("loopback"), *Kind("::ffff:127.0.0.1"));  // IPv4-mapped
    CPPUNIT_ASSERT_EQUAL(std::string("private"), *Kind("10.1.2.3"));
    CPPUNIT_ASSERT_EQUAL(std::string("private"), *Kind("172.31.255.255"));
    CPPUNIT_ASSERT(!Kind("172.32.0.1"));
    CPPUNIT_ASSERT_EQUAL(std::string("private"), *Kind("192.168.1.1"));
    CPPUNIT_ASSERT_EQUAL(std::string("private"), *Kind("fd00::1"));
    CPPUNIT_ASSERT_EQUAL(std::string("link-local"), *Kind("169.254.169.254"));
    CPPUNIT_ASSERT_EQUAL(std::string("link-local"), *Kind("fe80::1"));
    CPPUNIT_ASSERT_EQUAL(std::string("CGNAT"), *Kind("100.64.0.1"));
    CPPUNIT_ASSERT_EQUAL(std::string("multicast"), *Kind("239.1.1.1"));
    CPPUNIT_ASSERT_EQUAL(std::string("multicast"), *Kind("ff02::1"));
    CPPUNIT_ASSERT_EQUAL(std::string("unspecified"), *Kind("0.0.0.0"));
    CPPUNIT_ASSERT_EQUAL(std::string("unspecified"), *Kind("::"));
    CPPUNIT_ASSERT(!Kind("93.184.216.34"));
    CPPUNIT_ASSERT(!Kind("2001:4860:4860::8888"));
  }

  void UrlRules() {
    auto ok = ParseUrl("https://Example.COM:8443/hook?x=1", kHttp, "url");
    CPPUNIT_ASSERT(ok.ok() && ok->host == "example.com" && ok->port == 8443 && !ok->has_credentials);
    auto v6 = ParseUrl("http://[::1]/x", kHttp, "url");
    CPPUNIT_ASSERT(v6.ok() && v6->host == "::1" && v6->host_is_literal && v6->port == 80);
    CPPUNIT_ASSERT(ParseUrl("http://u:p@example.com/", kHttp, "url")->has_credentials);
    for (const char* bad : {"", "ftp://example.com/", "file:///etc/passwd", "example.com/x", "http://", "javascript:x",
                            "http://exa mple.com/", "-http://x"})
      CPPUNIT_ASSERT_MESSAGE(bad, !ParseUrl(bad, kHttp, "url").ok());
    auto none = AllowList::Parse("");
    CPPUNIT_ASSERT(!CheckLiteralHost(*ParseUrl("http://127.0.0.1:9/", kHttp, "url"), *none, "url").ok());
    CPPUNIT_ASSERT(!CheckLiteralHost(*ParseUrl("http://[::ffff:10.0.0.1]/", kHttp, "url"), *none, "url").ok());
    CPPUNIT_ASSERT(CheckLiteralHost(*ParseUrl("http://localhost/", kHttp, "url"), *none, "url").ok());  // at send time
  }

  void AllowListOpensHostsAddressesAndCidrs() {
    auto allowed = AllowList::Parse(" ci.Internal , 10.0.0.0/8, ::1 ,127.0.0.1");
    CPPUNIT_ASSERT(allowed.ok());
    auto lo = Addr("127.0.0.1"), ten = Addr("10.9.9.9"), v6lo = Addr("::1"), other = Addr("192.168.0.1");
    CPPUNIT_ASSERT(CheckAddress("x", reinterpret_cast<sockaddr*>(&lo), *allowed).ok());
    CPPUNIT_ASSERT(CheckAddress("x", reinterpret_cast<sockaddr*>(&ten), *allowed).ok());
    CPPUNIT_ASSERT(CheckAddress("x", reinterpret_cast<sockaddr*>(&v6lo), *allowed).ok());
    CPPUNIT_ASSERT(!CheckAddress("x", reinterpret_cast<sockaddr*>(&other), *allowed).ok());
    CPPUNIT_ASSERT(CheckAddress("ci.internal", reinterpret_cast<sockaddr*>(&other), *allowed).ok());
    CPPUNIT_ASSERT(!AllowList::Parse("10.0.0.0/33").ok());
    CPPUNIT_ASSERT(!AllowList::Parse("bad host!").ok());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(OutboundTest);
