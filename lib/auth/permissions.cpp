#include "lib/auth/permissions.h"

#include <algorithm>
#include <array>

#include "lib/crypto/digest.h"

namespace kod::auth {
namespace {
constexpr std::array<const char*, 10> kNames = {
    "repo:read",     "repo:write",       "repo:delete",  "collaborator:read", "collaborator:write",
    "workflow:read", "workflow:trigger", "secrets:read", "secrets:write",     "admin",
};

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

constexpr size_t kMaxTokenLength = 512;  // far above kod_ + 32; bounds the work on hostile input
}  // namespace

std::optional<Permission> ParsePermission(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (name == kNames[i]) return static_cast<Permission>(i);
  return std::nullopt;
}

const char* PermissionName(Permission p) { return kNames[static_cast<size_t>(p)]; }

bool Principal::Has(Permission p) const {
  for (Permission q : permissions)
    if (q == p || q == Permission::Admin) return true;
  return false;
}

RepoAccess AccessTo(const Principal& who, const std::string& owner_token_id, bool is_collaborator) {
  if (who.IsAdmin() || who.token_id == owner_token_id) return RepoAccess::Owner;
  if (!who.username) return RepoAccess::Read;
  return is_collaborator ? RepoAccess::Read : RepoAccess::Hidden;
}

std::optional<std::string> TokenFromAuthorization(std::string_view header) {
  size_t sp = header.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::string_view scheme = header.substr(0, sp);
  std::string_view rest = header.substr(sp + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  if (rest.empty() || rest.size() > 4 * kMaxTokenLength) return std::nullopt;
  std::string token;
  if (IEquals(scheme, "bearer")) {
    token = std::string(rest);
  } else if (IEquals(scheme, "basic")) {
    auto decoded = crypto::Base64Decode(rest);
    if (!decoded.ok()) return std::nullopt;
    size_t colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    token = decoded->substr(colon + 1);
  } else {
    return std::nullopt;
  }
  if (token.empty() || token.size() > kMaxTokenLength) return std::nullopt;
  return token;
}

}  // namespace kod::auth
