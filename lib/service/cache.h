// In-process caches of metadata read on every request (tokens, repositories, collaborators),
// invalidated on this host the moment anything changes (docs/api.md#tokens: a deleted token fails
// its very next request): each entry remembers the metadata epoch it was read under, and every
// change bumps that epoch in memory shared by all of kod-fcgi's forked workers.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "lib/core/clock.h"

namespace kod::service {

/// Turns the caches on for this process and the processes it forks afterwards (kod-fcgi's
/// master calls it before forking). Entries live at most `ttl_ms`: that bounds how stale a
/// worker on another host sharing the database can be. Without this call nothing is cached.
void EnableMetadataCache(int64_t ttl_ms);

/// The current epoch, or 0 when caching is off. Read it BEFORE the database read whose result
/// is cached, so a change committed during the read invalidates the entry.
uint64_t MetadataEpoch();

/// Records that tokens, repositories or collaborators changed (after the change committed).
void MetadataChanged();

bool MetadataCacheEnabled();
int64_t MetadataCacheTtlMs();

/// A map whose entries are valid only under the epoch they were read in and for the TTL.
/// Not thread-safe (a kod-fcgi worker is single-threaded). Holds at most `max_entries`.
template <class V>
class EpochCache {
 public:
  explicit EpochCache(size_t max_entries = 10000) : max_(max_entries) {}

  /// The cached value for `key`, or nullptr if absent, stale or caching is off.
  const V* Get(const std::string& key) const {
    if (!MetadataCacheEnabled()) return nullptr;
    auto it = map_.find(key);
    if (it == map_.end() || it->second.epoch != MetadataEpoch() ||
        MonotonicMs() - it->second.at >= MetadataCacheTtlMs())
      return nullptr;
    return &it->second.value;
  }

  /// Stores `value` as read under `epoch` (from MetadataEpoch() before the read).
  void Put(const std::string& key, V value, uint64_t epoch) {
    if (!MetadataCacheEnabled()) return;
    if (map_.size() >= max_) map_.clear();
    map_[key] = Entry{std::move(value), epoch, MonotonicMs()};
  }

 private:
  struct Entry {
    V value;
    uint64_t epoch;
    int64_t at;
  };
  std::unordered_map<std::string, Entry> map_;
  size_t max_;
};

}  // namespace kod::service
