// JobStore: the `jobs` table (kod-jobs' queue). SQL only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/db/db.h"
#include "lib/domain/job.h"

namespace kod::store {

/// All methods throw db::SqlError on database errors.
class JobStore {
 public:
  explicit JobStore(db::Session& s) : s_(s) {}
  /// Inserts a pending job; returns its id.
  int64_t Insert(const std::string& kind, const std::string& subject, std::optional<int64_t> repo_id, int64_t due_at,
                 int64_t now);
  /// Claims the oldest due pending job of one of `kinds` for `worker` until `lease_until`: a
  /// conditional UPDATE (status still pending), so of concurrent claimers exactly one wins.
  std::optional<domain::Job> ClaimNext(const std::vector<std::string>& kinds, const std::string& worker, int64_t now,
                                       int64_t lease_until);
  /// Extends the lease of every job `worker` holds.
  void ExtendLeases(const std::string& worker, int64_t lease_until);
  /// Deletes job `id` if `worker` still holds it. False when it does not (the job was taken back).
  bool Finish(int64_t id, const std::string& worker);
  /// Puts job `id` back to pending, due at `due_at`, if `worker` still holds it; `count_attempt`
  /// false gives back the attempt the claim counted (an attempt that never happened).
  bool Release(int64_t id, const std::string& worker, int64_t due_at, bool count_attempt);
  /// Every running job with its holder (to find holders that died on this host).
  std::vector<domain::Job> Running();
  /// Takes an abandoned job over: makes `worker` its holder if it is still held by `holder`.
  bool TakeOver(int64_t id, const std::string& holder, const std::string& worker, int64_t lease_until);
  /// The pending or running job of `kind` for `subject`, if any.
  std::optional<domain::Job> FindBySubject(const std::string& kind, const std::string& subject);

 private:
  db::Session& s_;
};

}  // namespace kod::store
