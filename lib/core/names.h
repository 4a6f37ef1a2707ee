// Validation of every name Kod accepts (pure functions): one place, table-tested in tests/unit/core.
#pragma once

#include <string_view>

namespace kod::names {

/// Repository names, docs/api.md#repositories: ^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$ ("import" is checked
/// separately by IsReservedRepoName so the caller can give its own message).
bool IsValidRepoName(std::string_view name);
/// docs/api.md#repositories: "import" is reserved.
bool IsReservedRepoName(std::string_view name);
/// Collaborator / linked-token usernames, docs/api.md#tokens, docs/api.md#repositories: ^[A-Za-z0-9_-]{1,64}$.
bool IsValidUsername(std::string_view name);
/// Secret names, docs/api.md#secrets: ^[A-Za-z_][A-Za-z0-9_]*$, at most 128 characters.
bool IsValidSecretName(std::string_view name);
/// docs/api.md#secrets: names starting with KOD_ in any letter case are reserved.
bool IsReservedSecretName(std::string_view name);
/// Token and run ids, docs/api.md#conventions: exactly 12 characters of [a-z0-9].
bool IsValidId(std::string_view id);
/// Branch names accepted in the API (git-check-ref-format rules, simplified and stricter).
bool IsValidBranchName(std::string_view name);

}  // namespace kod::names
