// Use cases of API tokens (docs/api.md#tokens, docs/api.md#tokens) and authentication of a request.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/auth/permissions.h"
#include "lib/core/status.h"
#include "lib/domain/page.h"
#include "lib/domain/token.h"
#include "lib/service/env.h"

namespace kod::service {

/// Resolves an Authorization header to a Principal: parse (Bearer/Basic), SHA-256, indexed lookup,
/// constant-time compare, expiry (an expired token is deleted and refused), lastUsedAt written at
/// most once a minute. Errors: Unauthenticated ("Unauthorized"), Unavailable (database down).
Result<auth::Principal> Authenticate(Env& env, std::string_view authorization);

/// expiresInDays: 1 to this many days; the 400 for any other value (or JSON type).
inline constexpr int64_t kMaxTokenExpiresInDays = 365;
inline constexpr char kExpiresInDaysRule[] = "expiresInDays must be an integer from 1 to 365";

/// The fields of POST /tokens after JSON type checks (docs/api.md#tokens).
struct NewToken {
  std::string name;
  std::optional<std::vector<std::string>> permissions;  // default ["repo:read","repo:write"]
  std::optional<int64_t> expires_in_days;               // 1–kMaxTokenExpiresInDays
  std::optional<std::string> username;
};

/// A created token: the one time its value is known.
struct CreatedToken {
  domain::Token token;
  std::string value;
};

/// Validates and creates a token. Errors (400): name 1–100 characters, "Invalid permission: <p>",
/// expiresInDays 1–365, username rule, "Collaborator '<u>' not found".
Result<CreatedToken> CreateToken(Env& env, const NewToken& req);
Result<std::vector<domain::Token>> ListTokens(Env& env);
/// One page of ListTokens, by name (byte-wise) then id, with the number of all of them.
Result<domain::Page<domain::Token>> ListTokensPage(Env& env, const domain::PageRequest& page);
/// docs/api.md#tokens: own id → 400 "Cannot delete your own token"; unknown → 404.
Status DeleteToken(Env& env, const auth::Principal& who, const std::string& id);

/// Creates the bootstrap admin token from config.admin_token when the token table is empty
/// (docs/api.md#tokens). Idempotent; safe when several processes start at once.
Status BootstrapAdmin(Env& env);

}  // namespace kod::service
