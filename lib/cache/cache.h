// Kod's in-process caches, all in one place: what each one holds, how long an entry may live,
// and what invalidates it. Every cache of Kod is a cache::Map or cache::Timed built from one of
// the Specs below; nothing else keeps data read from the database or the disk across requests.
//
//   cache                    owner                   key → value                      invalidated by    bound
//   kTokensByHash            service/tokens.cpp      SHA-256 of a token → the token  Scope::kTokens    kMaxAgeMs
//   kTokenList               service/tokens.cpp      "all" → GET /tokens' list       Scope::kTokens    kTokenListMaxAgeMs
//   kReposByName             service/repos.cpp       name → repository + its         Scope::kRepos     kMaxAgeMs
//                                                    collaborators, or "no such one"
//   kRenderedRepoLists       service/repos.cpp       visibility → GET /repos body    Scope::kRepos     kMaxAgeMs
//   kDatabaseHealth          service/env.cpp         → the database answered         its age           1 s
//   kOpenedRepositories      git/repository.cpp      path → open libgit2 handle      another directory 64 entries
//                                                                                    at the path
//
// Scopes: a change invalidates the caches of its scope only.
//   Scope::kTokens — a token created, deleted, or removed because it expired.
//   Scope::kRepos  — a repository created, renamed or deleted; a collaborator added or removed.
// A token's lastUsedAt write invalidates nothing: GET /tokens shows it within kTokenListMaxAgeMs.
// Expiry is checked on every use of a cached token, so an expired token fails at once.
//
// How a change reaches every worker of this host at once: each scope has a generation counter in
// memory shared by all processes forked after Enable() (kod-fcgi's workers). A value is stored
// with the generation read BEFORE the read that produced it, and is used only while the
// generation is unchanged, so a change committed during the read is never masked. Changed() bumps
// it after the change committed. Another host sharing the database sees a change within
// kMaxAgeMs (the entries' age limit).
//
// Caches of a scope are off in a process that did not call Enable() (kod-runner, kod-hook, tests):
// nothing there could invalidate them. kOpenedRepositories (no scope) works everywhere.
// Not thread-safe: a Map or Timed belongs to one thread (a kod-fcgi worker), or its owner locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "lib/core/clock.h"

namespace kod::cache {

/// What invalidates a cache: the kind of change (see the table above).
enum class Scope { kNone = -1, kTokens = 0, kRepos = 1 };
inline constexpr int kScopeCount = 2;

/// How long an entry of a scoped cache may be used after it was read (the bound for changes made
/// through another host).
inline constexpr int64_t kMaxAgeMs = 1000;
/// GET /tokens' list: the bound on how stale a token's lastUsedAt may be shown.
inline constexpr int64_t kTokenListMaxAgeMs = 1000;

/// One cache's parameters. `max_age_ms` 0: no age limit; `max_entries`: the map is emptied when a
/// new key would exceed it (keys are few: tokens in use, repositories, visibilities).
struct Spec {
  const char* name;
  Scope scope;
  int64_t max_age_ms;
  size_t max_entries;
};

inline constexpr Spec kTokensByHash{"tokens by hash", Scope::kTokens, kMaxAgeMs, 10'000};
inline constexpr Spec kTokenList{"token list", Scope::kTokens, kTokenListMaxAgeMs, 1};
inline constexpr Spec kReposByName{"repositories by name", Scope::kRepos, kMaxAgeMs, 10'000};
inline constexpr Spec kRenderedRepoLists{"rendered repository lists", Scope::kRepos, kMaxAgeMs, 1'000};
inline constexpr Spec kDatabaseHealth{"database health", Scope::kNone, 1000, 1};
inline constexpr Spec kOpenedRepositories{"opened repositories", Scope::kNone, 0, 64};

/// Turns the scoped caches on for this process and every process it forks afterwards (kod-fcgi's
/// master calls it before forking its workers): maps the shared generation counters.
void Enable();

/// True after Enable() in this process or a parent.
bool Enabled();

/// The generation of `scope` now (0 when caching is off). Take it BEFORE the read whose result
/// will be cached.
uint64_t Generation(Scope scope);

/// Records that something of `scope` changed (call after the change committed): every worker of
/// this host stops using what it cached under the previous generation.
void Changed(Scope scope);

/// Is a cache of `spec` usable in this process (scoped caches need Enable())?
inline bool Active(const Spec& spec) { return spec.scope == Scope::kNone || Enabled(); }

/// A map of values read under a generation of the spec's scope; see the file comment.
template <class V>
class Map {
 public:
  explicit Map(const Spec& spec) : spec_(spec) {}

  /// The value for `key`, or nullptr when absent, read under an older generation, too old, or
  /// when the cache is off. The pointer is valid until the next Put.
  const V* Get(const std::string& key) const {
    if (!Active(spec_)) return nullptr;
    auto it = map_.find(key);
    if (it == map_.end() || !Fresh(it->second)) return nullptr;
    return &it->second.value;
  }

  /// Stores `value` for `key` as read under `generation` (Generation(scope) taken before the
  /// read). Returns the stored value (nullptr when the cache is off).
  V* Put(const std::string& key, V value, uint64_t generation) {
    if (!Active(spec_)) return nullptr;
    if (map_.size() >= spec_.max_entries && !map_.count(key)) map_.clear();
    Entry& e = map_[key];
    e = Entry{std::move(value), generation, MonotonicMs()};
    return &e.value;
  }

  /// Drops `key` (its owner found the value no longer applies).
  void Erase(const std::string& key) { map_.erase(key); }

  /// The number of entries held, fresh or not.
  size_t size() const { return map_.size(); }

 private:
  struct Entry {
    V value;
    uint64_t generation = 0;
    int64_t at = 0;
  };
  bool Fresh(const Entry& e) const {
    if (spec_.scope != Scope::kNone && e.generation != Generation(spec_.scope)) return false;
    return spec_.max_age_ms == 0 || MonotonicMs() - e.at < spec_.max_age_ms;
  }
  const Spec& spec_;
  std::unordered_map<std::string, Entry> map_;
};

/// One value recomputed when older than the spec's max_age_ms (scope kNone only).
template <class V>
class Timed {
 public:
  explicit Timed(const Spec& spec) : spec_(spec) {}

  /// The value if it was set less than max_age_ms ago, else nullptr.
  const V* Get() const {
    if (!set_ || MonotonicMs() - at_ >= spec_.max_age_ms) return nullptr;
    return &value_;
  }
  void Put(V value) {
    value_ = std::move(value);
    at_ = MonotonicMs();
    set_ = true;
  }

 private:
  const Spec& spec_;
  V value_{};
  int64_t at_ = 0;
  bool set_ = false;
};

}  // namespace kod::cache
