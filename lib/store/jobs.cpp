#include "lib/store/jobs.h"

namespace kod::store {
namespace {

constexpr const char* kSelect =
    "SELECT id, kind, subject, repo_id, attempts, due_at, claimed_by, lease_until FROM jobs ";

domain::Job Read(db::Rows& r) {
  domain::Job j;
  j.id = r.Int64(1);
  j.kind = r.String(2);
  j.subject = r.String(3);
  j.repo_id = r.OptInt64(4);
  j.attempts = static_cast<int>(r.Int64(5));
  j.due_at = r.Int64(6);
  j.claimed_by = r.OptString(7).value_or("");
  j.lease_until = r.OptInt64(8).value_or(0);
  return j;
}

std::vector<domain::Job> All(db::Rows r) {
  std::vector<domain::Job> out;
  while (r.Next()) out.push_back(Read(r));
  return out;
}

}  // namespace

int64_t JobStore::Insert(const std::string& kind, const std::string& subject, std::optional<int64_t> repo_id,
                         int64_t due_at, int64_t now) {
  s_.Prepare("INSERT INTO jobs (kind, subject, repo_id, status, due_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)")
      .Bind(kind).Bind(subject).Bind(repo_id).Bind(due_at).Bind(now).Exec();
  db::Rows r = s_.Prepare("SELECT LAST_INSERT_ID()").Query();
  r.Next();
  return r.Int64(1);
}

std::optional<domain::Job> JobStore::ClaimNext(const std::vector<std::string>& kinds, const std::string& worker,
                                               int64_t now, int64_t lease_until) {
  if (kinds.empty()) return std::nullopt;
  std::string in = "?";
  for (size_t i = 1; i < kinds.size(); ++i) in += ", ?";
  db::Stmt candidates = s_.Prepare(std::string("SELECT id FROM jobs WHERE status = 'pending' AND due_at <= ? AND kind IN (") +
                                   in + ") ORDER BY due_at, id LIMIT 8");
  candidates.Bind(now);
  for (const std::string& k : kinds) candidates.Bind(k);
  std::vector<int64_t> ids;
  for (db::Rows r = candidates.Query(); r.Next();) ids.push_back(r.Int64(1));
  for (int64_t id : ids) {
    // The claim: only one UPDATE finds the row still pending.
    int won = s_.Prepare("UPDATE jobs SET status = 'running', claimed_by = ?, lease_until = ?, attempts = attempts + 1 "
                         "WHERE id = ? AND status = 'pending'")
                  .Bind(worker).Bind(lease_until).Bind(id).Exec();
    if (won != 1) continue;
    db::Rows r = s_.Prepare(std::string(kSelect) + "WHERE id = ?").Bind(id).Query();
    if (r.Next()) return Read(r);
  }
  return std::nullopt;
}

void JobStore::ExtendLeases(const std::string& worker, int64_t lease_until) {
  s_.Prepare("UPDATE jobs SET lease_until = ? WHERE claimed_by = ? AND status = 'running'")
      .Bind(lease_until).Bind(worker).Exec();
}

bool JobStore::Finish(int64_t id, const std::string& worker) {
  return s_.Prepare("DELETE FROM jobs WHERE id = ? AND claimed_by = ? AND status = 'running'")
             .Bind(id).Bind(worker).Exec() > 0;
}

bool JobStore::Release(int64_t id, const std::string& worker, int64_t due_at, bool count_attempt) {
  return s_.Prepare("UPDATE jobs SET status = 'pending', claimed_by = NULL, lease_until = NULL, due_at = ?, "
                    "attempts = attempts - ? WHERE id = ? AND claimed_by = ? AND status = 'running'")
             .Bind(due_at).Bind(count_attempt ? 0 : 1).Bind(id).Bind(worker).Exec() > 0;
}

std::vector<domain::Job> JobStore::Running() {
  return All(s_.Prepare(std::string(kSelect) + "WHERE status = 'running' ORDER BY id").Query());
}

bool JobStore::TakeOver(int64_t id, const std::string& holder, const std::string& worker, int64_t lease_until) {
  return s_.Prepare("UPDATE jobs SET claimed_by = ?, lease_until = ? WHERE id = ? AND claimed_by = ? AND status = 'running'")
             .Bind(worker).Bind(lease_until).Bind(id).Bind(holder).Exec() > 0;
}

std::optional<domain::Job> JobStore::FindBySubject(const std::string& kind, const std::string& subject) {
  db::Rows r = s_.Prepare(std::string(kSelect) + "WHERE kind = ? AND subject = ? LIMIT 1").Bind(kind).Bind(subject).Query();
  if (!r.Next()) return std::nullopt;
  return Read(r);
}

}  // namespace kod::store
