// lib/auth: credential parsing (docs/api.md#authentication) and the access model (docs/access.md).
#include <cppunit/extensions/HelperMacros.h>

#include <iterator>
#include <string>

#include "lib/auth/permissions.h"
#include "lib/crypto/digest.h"

using namespace kod::auth;

class AuthTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(AuthTest);
  CPPUNIT_TEST(BearerAndBasicGiveTheSameToken);
  CPPUNIT_TEST(MalformedHeadersGiveNothing);
  CPPUNIT_TEST(AdminImpliesEverything);
  CPPUNIT_TEST(EveryPermissionHasItsOneName);
  CPPUNIT_TEST(AccessMatrix);
  CPPUNIT_TEST_SUITE_END();

 public:
  void BearerAndBasicGiveTheSameToken() {
    const std::string t = "kod_abcdefghijklmnopqrstuvwxyz012345";
    for (const std::string& h : {"Bearer " + t, "bearer " + t, "BEARER " + t,
                                 "Basic " + kod::crypto::Base64Encode("git:" + t),
                                 "basic " + kod::crypto::Base64Encode(":" + t),
                                 "BASIC " + kod::crypto::Base64Encode("a:b:" + t).substr(0)}) {
      auto got = TokenFromAuthorization(h);
      CPPUNIT_ASSERT_MESSAGE(h, got.has_value());
    }
    CPPUNIT_ASSERT_EQUAL(t, *TokenFromAuthorization("Bearer " + t));
    CPPUNIT_ASSERT_EQUAL(t, *TokenFromAuthorization("Basic " + kod::crypto::Base64Encode("git:" + t)));
    // Only the first colon splits user from password.
    CPPUNIT_ASSERT_EQUAL(std::string("b:" + t), *TokenFromAuthorization("Basic " + kod::crypto::Base64Encode("a:b:" + t)));
  }

  void MalformedHeadersGiveNothing() {
    for (const std::string& h :
         {std::string(""), std::string("Bearer"), std::string("Bearer "), std::string("Basic"),
          std::string("Basic %%%not-base64%%%"), "Basic " + kod::crypto::Base64Encode("no-colon"),
          "Basic " + kod::crypto::Base64Encode("user:"), std::string("Token abc"), std::string("kod_abc"),
          "Bearer " + std::string(10 * 1024, 'a')})
      CPPUNIT_ASSERT_MESSAGE("'" + h.substr(0, 40) + "'", !TokenFromAuthorization(h).has_value());
  }

  void AdminImpliesEverything() {
    Principal admin{"a", {Permission::Admin}, std::nullopt};
    Principal reader{"r", {Permission::RepoRead}, std::nullopt};
    for (int p = 0; p <= static_cast<int>(Permission::Admin); ++p)
      CPPUNIT_ASSERT(admin.Has(static_cast<Permission>(p)));
    CPPUNIT_ASSERT(reader.Has(Permission::RepoRead));
    CPPUNIT_ASSERT(!reader.Has(Permission::RepoWrite));
    CPPUNIT_ASSERT(!reader.IsAdmin());
    CPPUNIT_ASSERT(ParsePermission("secrets:write") == Permission::SecretsWrite);
    CPPUNIT_ASSERT(!ParsePermission("repo:admin"));
  }

  void EveryPermissionHasItsOneName() {
    const char* expected[] = {"repo:read",     "repo:write",       "repo:delete",  "collaborator:read",
                              "collaborator:write", "workflow:read", "workflow:trigger", "secrets:read",
                              "secrets:write", "webhook:read", "webhook:write", "admin"};
    CPPUNIT_ASSERT_EQUAL(static_cast<int>(Permission::Admin) + 1, static_cast<int>(std::size(expected)));
    for (int i = 0; i <= static_cast<int>(Permission::Admin); ++i) {
      const Permission p = static_cast<Permission>(i);
      CPPUNIT_ASSERT_EQUAL(std::string(expected[i]), std::string(PermissionName(p)));
      CPPUNIT_ASSERT(ParsePermission(expected[i]) == p);
    }
    CPPUNIT_ASSERT(!ParsePermission("Admin"));
  }

  void AccessMatrix() {
    Principal admin{"adm", {Permission::Admin}, std::nullopt};
    Principal owner{"own", {Permission::RepoRead}, std::nullopt};
    Principal system{"sys", {Permission::RepoRead}, std::nullopt};
    Principal linked_owner{"lo", {Permission::RepoRead}, "alice"};
    Principal collaborator{"col", {Permission::RepoRead}, "bob"};
    Principal stranger{"str", {Permission::RepoRead}, "eve"};
    CPPUNIT_ASSERT(AccessTo(admin, "own", false) == RepoAccess::Owner);
    CPPUNIT_ASSERT(AccessTo(owner, "own", false) == RepoAccess::Owner);
    CPPUNIT_ASSERT(AccessTo(system, "own", false) == RepoAccess::Read);
    CPPUNIT_ASSERT(AccessTo(linked_owner, "lo", false) == RepoAccess::Owner);
    CPPUNIT_ASSERT(AccessTo(collaborator, "own", true) == RepoAccess::Read);
    CPPUNIT_ASSERT(AccessTo(stranger, "own", false) == RepoAccess::Hidden);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuthTest);
