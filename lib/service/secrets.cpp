#include "lib/service/secrets.h"

#include "lib/core/clock.h"
#include "lib/core/limits.h"
#include "lib/core/names.h"
#include "lib/crypto/secret_box.h"
#include "lib/store/secrets.h"

namespace kod::service {

Result<std::shared_ptr<crypto::SecretKey>> LoadSecretKey(Env& env) {
  std::shared_ptr<crypto::SecretKey> key;
  Status s = env.db.Run([&]() -> Status {
    key.reset();
    store::SecretStore secrets(env.db);
    std::optional<store::KeyCheck> check = secrets.GetKeyCheck();
    if (env.config.encryption_key.empty()) {
      if (secrets.CountAll() > 0)
        return InvalidArgument("secrets exist but no encryption key is configured (secrets.encryption_key, "
                               "secrets.key_file or KOD_ENCRYPTION_KEY)");
      return Status::Ok();
    }
    if (!check) {
      store::KeyCheck fresh;
      fresh.salt = crypto::NewKeySalt();
      auto derived = crypto::SecretKey::Derive(env.config.encryption_key, fresh.salt);
      if (!derived.ok()) return derived.status();
      fresh.check_value = derived->CheckValue();
      if (secrets.InsertKeyCheck(fresh, NowMs())) {
        key = std::make_shared<crypto::SecretKey>(std::move(*derived));
        return Status::Ok();
      }
      check = secrets.GetKeyCheck();  // another process stored one first: check against it
      if (!check) return Internal("key check value vanished");
    }
    auto derived = crypto::SecretKey::Derive(env.config.encryption_key, check->salt);
    if (!derived.ok()) return derived.status();
    if (derived->CheckValue() != check->check_value)
      return InvalidArgument("the configured encryption key does not match the key that encrypted the stored "
                             "secrets (secrets.encryption_key / KOD_ENCRYPTION_KEY)");
    key = std::make_shared<crypto::SecretKey>(std::move(*derived));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return key;
}

Result<std::vector<domain::SecretMeta>> ListSecrets(Env& env, const RepoRef& ref) {
  return env.db.Get<std::vector<domain::SecretMeta>>(
      [&]() -> Result<std::vector<domain::SecretMeta>> { return store::SecretStore(env.db).List(ref.repo.id); });
}

Result<bool> PutSecret(Env& env, const RepoRef& ref, const std::string& name, const std::string* value) {
  if (!names::IsValidSecretName(name))
    return InvalidArgument("Secret name must match ^[A-Za-z_][A-Za-z0-9_]*$ and be at most 128 characters");
  if (names::IsReservedSecretName(name)) return InvalidArgument("Secret names starting with KOD_ are reserved");
  if (value == nullptr) return InvalidArgument("value is required and must be a string");
  if (value->empty()) return InvalidArgument("value must not be empty");
  if (value->find_first_not_of(" \t\n\r\v\f") == std::string::npos)
    return InvalidArgument("value must not be only whitespace");
  if (value->size() > limits::kMaxSecretBytes)
    return InvalidArgument("value must be at most " + std::to_string(limits::kMaxSecretBytes) + " bytes");
  if (env.key == nullptr) return Internal(kNoKeyMessage);
  auto sealed = env.key->Seal(*value, crypto::SecretAad(ref.repo.id, name));
  if (!sealed.ok()) return sealed.status();
  Status stored = env.db.Run([&] {
    store::SecretStore(env.db).Upsert(ref.repo.id, name, *sealed, NowMs());
    return Status::Ok();
  });
  if (!stored.ok()) return stored;
  return value->size() >= limits::kMinMaskedSecretBytes;
}

Status DeleteSecret(Env& env, const RepoRef& ref, const std::string& name) {
  if (!names::IsValidSecretName(name)) return NotFound("Secret not found");
  return env.db.Run([&]() -> Status {
    return store::SecretStore(env.db).Delete(ref.repo.id, name) ? Status::Ok() : NotFound("Secret not found");
  });
}

Result<std::map<std::string, std::string>> SecretsForRun(Env& env, int64_t repo_id) {
  std::vector<std::pair<std::string, std::string>> rows;
  Status s = env.db.Run([&] {
    rows = store::SecretStore(env.db).Ciphertexts(repo_id);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  std::map<std::string, std::string> out;
  if (rows.empty()) return out;
  if (env.key == nullptr) return Internal(kNoKeyMessage);
  for (auto& [name, blob] : rows) {
    auto plain = env.key->Open(blob, crypto::SecretAad(repo_id, name));
    if (!plain.ok()) return Internal("secret " + name + " cannot be decrypted with the configured key");
    out.emplace(name, std::move(*plain));
  }
  return out;
}

}  // namespace kod::service
