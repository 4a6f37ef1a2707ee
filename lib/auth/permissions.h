// Permissions (docs/api.md) and the Principal a request acts as; the access model of docs/access.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kod::auth {

/// The permission names of docs/api.md#permissions. `Admin` implies every other.
enum class Permission {
  RepoRead, RepoWrite, RepoDelete, CollaboratorRead, CollaboratorWrite,
  WorkflowRead, WorkflowTrigger, SecretsRead, SecretsWrite, WebhookRead, WebhookWrite, Admin,
};

/// "repo:read" → Permission::RepoRead; nullopt for an unknown name (exact, case-sensitive).
std::optional<Permission> ParsePermission(std::string_view name);
/// Permission::RepoRead → "repo:read": the name tokens carry and the API shows.
const char* PermissionName(Permission p);

/// Who a request acts as: an authenticated token (never its value).
struct Principal {
  std::string token_id;
  std::vector<Permission> permissions;
  std::optional<std::string> username;  // linked token (docs/access.md) when set

  /// True if the token holds `p` or `admin`.
  bool Has(Permission p) const;
  bool IsAdmin() const { return Has(Permission::Admin); }
};

/// What a principal may do with one repository (docs/access.md).
enum class RepoAccess {
  Hidden,  // linked token, neither owner nor collaborator: the repository answers 404 everywhere
  Read,    // read-type operations (details, secrets, workflows, git)
  Owner,   // also owner-only operations (rename, delete, collaborators)
};

/// The access model in one place: admin or owner → Owner; system token → Read; linked token →
/// Read if `is_collaborator`, else Hidden. Permissions are checked separately (before this).
RepoAccess AccessTo(const Principal& who, const std::string& owner_token_id, bool is_collaborator);

/// The token value carried by an Authorization header: `Bearer <token>` or
/// `Basic base64(<any user>:<token>)`, scheme case-insensitive (docs/api.md#authentication).
/// nullopt for a missing, empty or malformed header (the caller answers 401).
std::optional<std::string> TokenFromAuthorization(std::string_view header);

}  // namespace kod::auth
