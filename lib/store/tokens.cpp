#include "lib/store/tokens.h"

#include <sstream>

namespace kod::store {
namespace {

constexpr const char* kColumns = "id, name, permissions, username, created_at, expires_at, last_used_at";

std::string JoinPermissions(const std::vector<std::string>& p) {
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) out += (i ? "," : "") + p[i];
  return out;
}

domain::Token Read(db::Rows& r) {
  domain::Token t;
  t.id = r.String(1);
  t.name = r.String(2);
  std::stringstream ss(r.String(3));
  for (std::string p; std::getline(ss, p, ',');)
    if (!p.empty()) t.permissions.push_back(p);
  t.username = r.OptString(4);
  t.created_at = r.Int64(5);
  t.expires_at = r.OptInt64(6);
  t.last_used_at = r.OptInt64(7);
  return t;
}

}  // namespace

bool TokenStore::Insert(const domain::Token& t, const std::string& hash) {
  try {
    s_.Prepare("INSERT INTO tokens (id, name, token_hash, permissions, username, created_at, expires_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)")
        .Bind(t.id).Bind(t.name).Bind(hash).Bind(JoinPermissions(t.permissions)).Bind(t.username)
        .Bind(t.created_at).Bind(t.expires_at).Exec();
    return true;
  } catch (const db::SqlError& e) {
    if (e.code == db::kDuplicateKey) return false;
    throw;
  }
}

std::optional<HashedToken> TokenStore::FindByHash(const std::string& hash) {
  db::Rows r = s_.Prepare(std::string("SELECT ") + kColumns + ", token_hash FROM tokens WHERE token_hash = ?")
                   .Bind(hash).Query();
  if (!r.Next()) return std::nullopt;
  return HashedToken{Read(r), r.String(8)};
}

std::vector<domain::Token> TokenStore::List(int64_t now) {
  db::Rows r = s_.Prepare(std::string("SELECT ") + kColumns +
                          " FROM tokens WHERE expires_at IS NULL OR expires_at > ? ORDER BY created_at, id")
                   .Bind(now).Query();
  std::vector<domain::Token> out;
  while (r.Next()) out.push_back(Read(r));
  return out;
}

bool TokenStore::Delete(const std::string& id) {
  return s_.Prepare("DELETE FROM tokens WHERE id = ?").Bind(id).Exec() > 0;
}

void TokenStore::TouchLastUsed(const std::string& id, int64_t now, int64_t min_interval_ms) {
  s_.Prepare("UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)")
      .Bind(now).Bind(id).Bind(now - min_interval_ms).Exec();
}

int TokenStore::DeleteExpired(int64_t now) {
  return s_.Prepare("DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ?").Bind(now).Exec();
}

int64_t TokenStore::Count() {
  db::Rows r = s_.Prepare("SELECT COUNT(*) FROM tokens").Query();
  return r.Next() ? r.Int64(1) : 0;
}

}  // namespace kod::store
