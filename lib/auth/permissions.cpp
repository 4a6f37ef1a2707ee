#include "lib/auth/permissions.h"

#include <algorithm>

#include "lib/core/enum_names.h"
#include "lib/crypto/digest.h"

namespace kod::auth {
namespace {
constexpr EnumName<Permission> kPermissionNames[] = {
    {Permission::RepoRead, "repo:read"},
    {Permission::RepoWrite, "repo:write"},
    {Permission::RepoDelete, "repo:delete"},
    {Permission::CollaboratorRead, "collaborator:read"},
    {Permission::CollaboratorWrite, "collaborator:write"},
    {Permission::WorkflowRead, "workflow:read"},
    {Permission::WorkflowTrigger, "workflow:trigger"},
    {Permission::SecretsRead, "secrets:read"},
    {Permission::SecretsWrite, "secrets:write"},
    {Permission::WebhookRead, "webhook:read"},
    {Permission::WebhookWrite, "webhook:write"},
    {Permission::Admin, "admin"},
};

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

constexpr size_t kMaxTokenLength = 512;  // far above kod_ + 32; bounds the work on hostile input
}  // namespace

std::optional<Permission> ParsePermission(std::string_view name) { return ValueOf(kPermissionNames, name); }

const char* PermissionName(Permission p) { return NameOf(kPermissionNames, p); }

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
