#include "lib/service/tokens.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "lib/cache/cache.h"
#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/limits.h"
#include "lib/core/names.h"
#include "lib/core/utf8.h"
#include "lib/crypto/digest.h"
#include "lib/crypto/random.h"
#include "lib/store/repos.h"
#include "lib/store/tokens.h"

namespace kod::service {
namespace {

constexpr int64_t kLastUsedIntervalMs = 60'000;
constexpr int64_t kDayMs = 86'400'000;
constexpr size_t kMaxTouchedTokens = 10'000;  // LastTouched() is cleared beyond this

auth::Principal ToPrincipal(const domain::Token& t) {
  auth::Principal p;
  p.token_id = t.id;
  p.username = t.username;
  for (const std::string& name : t.permissions)
    if (auto perm = auth::ParsePermission(name)) p.permissions.push_back(*perm);
  return p;
}

cache::Map<domain::Token>& AuthCache() {  // token hash → token (lib/cache/cache.h)
  static cache::Map<domain::Token> cache(cache::kTokensByHash);
  return cache;
}

cache::Map<std::vector<domain::Token>>& TokenListCache() {
  static cache::Map<std::vector<domain::Token>> cache(cache::kTokenList);
  return cache;
}

// Per-process memory of when this process last wrote lastUsedAt, so that a busy token costs
// one conditional UPDATE a minute per worker instead of one per request.
std::map<std::string, int64_t>& LastTouched() {
  static std::map<std::string, int64_t> m;
  return m;
}

}  // namespace

Result<auth::Principal> Authenticate(Env& env, std::string_view authorization) {
  auto value = auth::TokenFromAuthorization(authorization);
  if (!value) return Unauthenticated();
  const std::string hash = crypto::Sha256Hex(*value);
  store::TokenStore tokens(env.db);
  std::optional<domain::Token> found;
  const uint64_t generation = cache::Generation(cache::Scope::kTokens);
  if (const domain::Token* cached = AuthCache().Get(hash)) found = *cached;
  if (!found) {
    std::optional<store::HashedToken> row;
    Status s = env.db.Run([&] {
      row = tokens.FindByHash(hash);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    // The index found the row; the stored hash is still compared in constant time (docs/api.md#authentication).
    if (!row || !crypto::ConstantTimeEquals(row->hash, hash)) return Unauthenticated();
    found = std::move(row->token);
    AuthCache().Put(hash, *found, generation);
  }
  const int64_t now = NowMs();
  if (found->expires_at && *found->expires_at <= now) {
    if (env.db.Run([&] {
          tokens.DeleteExpired(now);
          return Status::Ok();
        }).ok())
      cache::Changed(cache::Scope::kTokens);
    return Unauthenticated();
  }
  int64_t& touched = LastTouched()[found->id];
  if (found->last_used_at) touched = std::max(touched, *found->last_used_at);
  if (now - touched >= kLastUsedIntervalMs) {
    touched = now;
    // Invalidates nothing: GET /tokens shows it within cache::kTokenListMaxAgeMs. (It used to
    // flush every cache of the host, once a minute per token and worker.)
    (void)env.db.Run([&] {
      tokens.TouchLastUsed(found->id, now, kLastUsedIntervalMs);
      return Status::Ok();
    });
    if (LastTouched().size() > kMaxTouchedTokens) LastTouched().clear();
  }
  return ToPrincipal(*found);
}

Result<CreatedToken> CreateToken(Env& env, const NewToken& req) {
  auto chars = utf8::Length(req.name);
  if (!chars || *chars < 1 || *chars > limits::kMaxTokenNameLength)
    return InvalidArgument("name is required and must be 1-" + std::to_string(limits::kMaxTokenNameLength) + " characters");
  std::vector<std::string> perms;
  for (const std::string& p : req.permissions.value_or(std::vector<std::string>{"repo:read", "repo:write"})) {
    if (!auth::ParsePermission(p)) return InvalidArgument("Invalid permission: " + p);
    if (std::find(perms.begin(), perms.end(), p) == perms.end()) perms.push_back(p);  // a set, in given order
  }
  if (req.expires_in_days && (*req.expires_in_days < 1 || *req.expires_in_days > kMaxTokenExpiresInDays))
    return InvalidArgument(kExpiresInDaysRule);
  if (req.username && !names::IsValidUsername(*req.username))
    return InvalidArgument("username must match ^[A-Za-z0-9_-]{1,64}$");

  CreatedToken out;
  out.token.name = req.name;
  out.token.permissions = perms;
  out.token.username = req.username;
  out.token.created_at = NowMs();
  if (req.expires_in_days) out.token.expires_at = out.token.created_at + *req.expires_in_days * kDayMs;
  Status s = env.db.Run([&]() -> Status {
    if (req.username && !store::CollaboratorStore(env.db).ExistsAnywhere(*req.username))
      return InvalidArgument("Collaborator '" + *req.username + "' not found");
    for (int attempt = 0; attempt < 5; ++attempt) {
      out.token.id = crypto::NewId();
      out.value = crypto::NewTokenValue();
      if (store::TokenStore(env.db).Insert(out.token, crypto::Sha256Hex(out.value))) return Status::Ok();
    }
    return Internal("could not allocate a token id");
  });
  if (!s.ok()) return s;
  cache::Changed(cache::Scope::kTokens);
  return out;
}

Result<std::vector<domain::Token>> ListTokens(Env& env) {
  const int64_t now = NowMs();
  if (const auto* cached = TokenListCache().Get("all")) {
    std::vector<domain::Token> live;  // expiry is checked at every read, cached or not
    for (const auto& t : *cached)
      if (!t.expires_at || *t.expires_at > now) live.push_back(t);
    return live;
  }
  const uint64_t generation = cache::Generation(cache::Scope::kTokens);
  auto list = env.db.Get<std::vector<domain::Token>>(
      [&]() -> Result<std::vector<domain::Token>> { return store::TokenStore(env.db).List(now); });
  if (list.ok()) TokenListCache().Put("all", *list, generation);
  return list;
}

Result<domain::Page<domain::Token>> ListTokensPage(Env& env, const domain::PageRequest& page) {
  auto all = ListTokens(env);
  if (!all.ok()) return all.status();
  // Names compare byte-wise (std::string's operator<), ids break ties.
  std::sort(all->begin(), all->end(),
            [](const domain::Token& a, const domain::Token& b) { return std::tie(a.name, a.id) < std::tie(b.name, b.id); });
  return domain::Slice(*all, page);
}

Status DeleteToken(Env& env, const auth::Principal& who, const std::string& id) {
  if (id == who.token_id) return InvalidArgument("Cannot delete your own token");
  if (!names::IsValidId(id)) return NotFound("Token not found");
  Status s = env.db.Run([&]() -> Status {
    return store::TokenStore(env.db).Delete(id) ? Status::Ok() : NotFound("Token not found");
  });
  if (s.ok()) cache::Changed(cache::Scope::kTokens);
  return s;
}

Status BootstrapAdmin(Env& env) {
  if (env.config.admin_token.empty()) return Status::Ok();
  return env.db.Run([&]() -> Status {
    store::TokenStore tokens(env.db);
    if (tokens.Count() > 0) return Status::Ok();
    domain::Token t;
    t.id = crypto::NewId();
    t.name = "admin";
    t.permissions = {"admin"};
    t.created_at = NowMs();
    if (tokens.Insert(t, crypto::Sha256Hex(env.config.admin_token))) log::Info("created the bootstrap admin token");
    return Status::Ok();
  }, /*transaction=*/true);
}

}  // namespace kod::service
