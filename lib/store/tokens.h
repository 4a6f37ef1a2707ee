// TokenStore: the `tokens` table. SQL only; callers wrap calls in db::Session::Run/Get.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/db/db.h"
#include "lib/domain/token.h"

namespace kod::store {

/// A token with its stored hash, as FindByHash reads it (for the constant-time compare).
struct HashedToken {
  domain::Token token;
  std::string hash;  // lower-case SHA-256 hex of the token's value
};

/// All methods throw db::SqlError on database errors.
class TokenStore {
 public:
  explicit TokenStore(db::Session& s) : s_(s) {}
  /// Inserts `t` with `hash` (lower-case SHA-256 hex). False if the id or hash already exists.
  bool Insert(const domain::Token& t, const std::string& hash);
  /// The token whose hash is `hash` (indexed lookup), or nullopt.
  std::optional<HashedToken> FindByHash(const std::string& hash);
  /// Tokens not expired at `now` (expired rows are left for DeleteExpired).
  std::vector<domain::Token> List(int64_t now);
  /// True if a row was deleted.
  bool Delete(const std::string& id);
  /// Sets last_used_at = now unless it was written less than `min_interval_ms` ago (docs/api.md#tokens).
  void TouchLastUsed(const std::string& id, int64_t now, int64_t min_interval_ms);
  /// Removes tokens whose expires_at <= now; returns how many.
  int DeleteExpired(int64_t now);
  int64_t Count();

 private:
  db::Session& s_;
};

}  // namespace kod::store
