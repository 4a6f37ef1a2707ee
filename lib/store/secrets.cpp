#include "lib/store/secrets.h"

namespace kod::store {

std::vector<domain::SecretMeta> SecretStore::List(int64_t repo_id) {
  db::Rows r = s_.Prepare("SELECT name, created_at, updated_at FROM secrets WHERE repo_id = ? ORDER BY name")
                   .Bind(repo_id).Query();
  std::vector<domain::SecretMeta> out;
  while (r.Next()) out.push_back({r.String(1), r.Int64(2), r.Int64(3)});
  return out;
}

void SecretStore::Upsert(int64_t repo_id, const std::string& name, const std::string& ciphertext, int64_t now) {
  // updated_at must grow even when two writes land in the same millisecond.
  s_.Prepare("INSERT INTO secrets (repo_id, name, ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
             "ON DUPLICATE KEY UPDATE ciphertext = VALUES(ciphertext), "
             "updated_at = GREATEST(VALUES(updated_at), updated_at + 1)")
      .Bind(repo_id).Bind(name).BindBlob(ciphertext).Bind(now).Bind(now).Exec();
}

bool SecretStore::Delete(int64_t repo_id, const std::string& name) {
  return s_.Prepare("DELETE FROM secrets WHERE repo_id = ? AND name = ?").Bind(repo_id).Bind(name).Exec() > 0;
}

std::vector<std::pair<std::string, std::string>> SecretStore::Ciphertexts(int64_t repo_id) {
  db::Rows r = s_.Prepare("SELECT name, ciphertext FROM secrets WHERE repo_id = ? ORDER BY name").Bind(repo_id).Query();
  std::vector<std::pair<std::string, std::string>> out;
  while (r.Next()) out.emplace_back(r.String(1), r.String(2));
  return out;
}

int64_t SecretStore::CountAll() {
  db::Rows r = s_.Prepare("SELECT COUNT(*) FROM secrets").Query();
  return r.Next() ? r.Int64(1) : 0;
}

std::optional<KeyCheck> SecretStore::GetKeyCheck() {
  db::Rows r = s_.Prepare("SELECT salt, check_value FROM secret_key_check WHERE id = 1").Query();
  if (!r.Next()) return std::nullopt;
  return KeyCheck{r.String(1), r.String(2)};
}

bool SecretStore::InsertKeyCheck(const KeyCheck& k, int64_t now) {
  try {
    s_.Prepare("INSERT INTO secret_key_check (id, salt, check_value, created_at) VALUES (1, ?, ?, ?)")
        .BindBlob(k.salt).Bind(k.check_value).Bind(now).Exec();
    return true;
  } catch (const db::SqlError& e) {
    if (e.code == db::kDuplicateKey) return false;
    throw;
  }
}

}  // namespace kod::store
