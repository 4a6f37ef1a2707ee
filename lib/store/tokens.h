// TokenStore: the `tokens` table. SQL only; callers wrap calls in db::Session::Run/Get.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/db/db.h"

namespace kod::store {

/// A stored API token (never its value: only its SHA-256 hex lives in the database).
struct Token {
  std::string id;                       // 12 chars [a-z0-9]
  std::string name;
  std::vector<std::string> permissions;  // api.md permission names, in the order given
  std::optional<std::string> username;   // set for linked tokens (decisions.md §3)
  int64_t created_at = 0;                // epoch ms
  std::optional<int64_t> expires_at;
  std::optional<int64_t> last_used_at;
  std::string token_hash;                // filled by FindByHash only (for the constant-time compare)
};

/// All methods throw db::SqlError on database errors.
class TokenStore {
 public:
  explicit TokenStore(db::Session& s) : s_(s) {}
  /// Inserts `t` with `hash` (lower-case SHA-256 hex). False if the id or hash already exists.
  bool Insert(const Token& t, const std::string& hash);
  /// The token whose hash is `hash` (indexed lookup), or nullopt.
  std::optional<Token> FindByHash(const std::string& hash);
  /// Tokens not expired at `now` (expired rows are left for DeleteExpired).
  std::vector<Token> List(int64_t now);
  /// True if a row was deleted.
  bool Delete(const std::string& id);
  /// Sets last_used_at = now unless it was written less than `min_interval_ms` ago (decisions §2).
  void TouchLastUsed(const std::string& id, int64_t now, int64_t min_interval_ms);
  /// Removes tokens whose expires_at <= now; returns how many.
  int DeleteExpired(int64_t now);
  int64_t Count();

 private:
  db::Session& s_;
};

}  // namespace kod::store
