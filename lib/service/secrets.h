// Use cases of per-repository secrets (docs/api.md#secrets, docs/api.md#secrets): values are sealed with
// AES-256-GCM bound to (repository id, name) and are only ever decrypted for a workflow run.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/core/status.h"
#include "lib/domain/secret.h"
#include "lib/service/env.h"
#include "lib/service/repos.h"

namespace kod::crypto {
class SecretKey;
}

namespace kod::service {

inline constexpr char kNoKeyMessage[] = "No encryption key configured. Set KOD_ENCRYPTION_KEY.";

/// At start (kod-fcgi, kod-runner): derives the key from config.encryption_key with the stored
/// salt and checks it against the stored key check value, storing both on first use.
/// Errors (the process must refuse to start): secrets exist but no key is configured; the key
/// does not match the check value. Returns nullptr when no key is configured (and no secrets exist).
Result<std::shared_ptr<crypto::SecretKey>> LoadSecretKey(Env& env);

Result<std::vector<domain::SecretMeta>> ListSecrets(Env& env, const RepoRef& ref);

/// Validates the name (400 naming the rule: pattern, 128 characters, reserved KOD_ prefix in any
/// case) and value (400: a string of at most 65,536 bytes that is not empty and not only
/// whitespace), then needs the key (500 kNoKeyMessage), then seals and stores. An update keeps
/// createdAt, moves updatedAt. Returns whether step output will mask the value: false for
/// values shorter than limits::kMinMaskedSecretBytes (stored and injected all the same).
Result<bool> PutSecret(Env& env, const RepoRef& ref, const std::string& name, const std::string* value);

/// 404 for an invalid name or a missing secret (docs/api.md#secrets).
Status DeleteSecret(Env& env, const RepoRef& ref, const std::string& name);

/// The decrypted secrets of a repository, name → value, for a workflow run only (docs/workflows.md).
/// The one function that ever returns a secret value.
Result<std::map<std::string, std::string>> SecretsForRun(Env& env, int64_t repo_id);

}  // namespace kod::service
