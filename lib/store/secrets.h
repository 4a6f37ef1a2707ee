// SecretStore: the `secrets` and `secret_key_check` tables. Holds ciphertext only. SQL only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/db/db.h"
#include "lib/domain/secret.h"

namespace kod::store {

/// The stored key check value of the encryption key (docs/api.md#secrets).
struct KeyCheck {
  std::string salt;         // raw bytes
  std::string check_value;  // hex
};

/// All methods throw db::SqlError on database errors.
class SecretStore {
 public:
  explicit SecretStore(db::Session& s) : s_(s) {}
  std::vector<domain::SecretMeta> List(int64_t repo_id);
  /// Inserts or replaces the ciphertext; an update keeps created_at and sets updated_at = now.
  void Upsert(int64_t repo_id, const std::string& name, const std::string& ciphertext, int64_t now);
  bool Delete(int64_t repo_id, const std::string& name);
  /// (name, ciphertext) of every secret of the repository, by name.
  std::vector<std::pair<std::string, std::string>> Ciphertexts(int64_t repo_id);
  int64_t CountAll();
  std::optional<KeyCheck> GetKeyCheck();
  /// Stores the key check once; false if one already exists (another process won the race).
  bool InsertKeyCheck(const KeyCheck& k, int64_t now);

 private:
  db::Session& s_;
};

}  // namespace kod::store
