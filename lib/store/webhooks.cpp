#include "lib/store/webhooks.h"

#include <algorithm>

namespace kod::store {
namespace {

std::vector<std::string> SplitEvents(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t c = s.find(',', pos);
    out.push_back(s.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  return out;
}

std::string JoinEvents(const std::vector<std::string>& events) {
  std::string out;
  for (const std::string& e : events) out += (out.empty() ? "" : ",") + e;
  return out;
}

constexpr const char* kHookSelect =
    "SELECT w.id, w.repo_id, r.name, w.url, w.events, w.secret IS NOT NULL, w.created_at, w.secret "
    "FROM webhooks w JOIN repos r ON r.id = w.repo_id ";

SealedWebhook ReadHook(db::Rows& r) {
  SealedWebhook out;
  out.hook.id = r.String(1);
  out.hook.repo_id = r.Int64(2);
  out.hook.repo_name = r.String(3);
  out.hook.url = r.String(4);
  out.hook.events = SplitEvents(r.String(5));
  out.hook.has_secret = r.Int64(6) != 0;
  out.hook.created_at = r.Int64(7);
  out.sealed_secret = r.OptString(8);
  return out;
}

constexpr const char* kDeliverySelect =
    "SELECT id, webhook_id, event, url, status, attempts, created_at, last_attempt_at, next_attempt_at, "
    "response_status, error, duration_ms FROM webhook_deliveries ";

domain::Delivery ReadDelivery(db::Rows& r) {
  domain::Delivery d;
  d.id = r.String(1);
  d.webhook_id = r.String(2);
  d.event = r.String(3);
  d.url = r.String(4);
  d.status = r.String(5);
  d.attempts = static_cast<int>(r.Int64(6));
  d.created_at = r.Int64(7);
  d.last_attempt_at = r.OptInt64(8);
  d.next_attempt_at = r.OptInt64(9);
  if (auto s = r.OptInt64(10)) d.response_status = static_cast<int>(*s);
  d.error = r.OptString(11);
  d.duration_ms = r.OptInt64(12);
  return d;
}

}  // namespace

void WebhookStore::Insert(const domain::Webhook& h, const std::optional<std::string>& sealed) {
  db::Stmt st = s_.Prepare("INSERT INTO webhooks (id, repo_id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)");
  st.Bind(h.id).Bind(h.repo_id).Bind(h.url).Bind(JoinEvents(h.events));
  if (sealed) st.BindBlob(*sealed);
  else st.BindNull();
  st.Bind(h.created_at).Exec();
}

std::vector<domain::Webhook> WebhookStore::List(int64_t repo_id) {
  std::vector<domain::Webhook> out;
  for (db::Rows r = s_.Prepare(std::string(kHookSelect) + "WHERE w.repo_id = ? ORDER BY w.created_at, w.id")
                        .Bind(repo_id).Query();
       r.Next();)
    out.push_back(ReadHook(r).hook);
  return out;
}

std::optional<domain::Webhook> WebhookStore::Find(int64_t repo_id, const std::string& id) {
  db::Rows r = s_.Prepare(std::string(kHookSelect) + "WHERE w.repo_id = ? AND w.id = ?").Bind(repo_id).Bind(id).Query();
  if (!r.Next()) return std::nullopt;
  return ReadHook(r).hook;
}

bool WebhookStore::Delete(int64_t repo_id, const std::string& id) {
  return s_.Prepare("DELETE FROM webhooks WHERE repo_id = ? AND id = ?").Bind(repo_id).Bind(id).Exec() > 0;
}

std::vector<SealedWebhook> WebhookStore::ForEvent(int64_t repo_id, const std::string& event) {
  std::vector<SealedWebhook> out;
  for (db::Rows r = s_.Prepare(std::string(kHookSelect) + "WHERE w.repo_id = ? AND FIND_IN_SET(?, w.events) > 0 "
                                                          "ORDER BY w.created_at, w.id")
                        .Bind(repo_id).Bind(event).Query();
       r.Next();)
    out.push_back(ReadHook(r));
  return out;
}

void WebhookStore::InsertDelivery(const domain::Delivery& d, const std::string& body) {
  s_.Prepare("INSERT INTO webhook_deliveries (id, webhook_id, event, url, body, status, attempts, created_at, "
             "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .Bind(d.id).Bind(d.webhook_id).Bind(d.event).Bind(d.url).Bind(body).Bind(d.status).Bind(d.attempts)
      .Bind(d.created_at).Bind(d.next_attempt_at).Exec();
}

std::vector<domain::Delivery> WebhookStore::ListDeliveries(const std::string& webhook_id, int64_t offset, int limit) {
  std::vector<domain::Delivery> out;
  for (db::Rows r = s_.Prepare(std::string(kDeliverySelect) + "WHERE webhook_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?")
                        .Bind(webhook_id).Bind(limit).Bind(offset).Query();
       r.Next();)
    out.push_back(ReadDelivery(r));
  return out;
}

int64_t WebhookStore::CountDeliveries(const std::string& webhook_id) {
  db::Rows r = s_.Prepare("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?").Bind(webhook_id).Query();
  r.Next();
  return r.Int64(1);
}

std::optional<domain::Delivery> WebhookStore::FindDelivery(const std::string& webhook_id, const std::string& id) {
  db::Rows r = s_.Prepare(std::string(kDeliverySelect) + "WHERE webhook_id = ? AND id = ?").Bind(webhook_id).Bind(id).Query();
  if (!r.Next()) return std::nullopt;
  return ReadDelivery(r);
}

std::optional<PendingDelivery> WebhookStore::LoadForAttempt(const std::string& id) {
  db::Rows r = s_.Prepare("SELECT d.id, d.webhook_id, d.event, d.url, d.status, d.attempts, d.created_at, "
                          "d.last_attempt_at, d.next_attempt_at, d.response_status, d.error, d.duration_ms, d.body, "
                          "w.secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?")
                   .Bind(id).Query();
  if (!r.Next()) return std::nullopt;
  PendingDelivery out{ReadDelivery(r), r.String(13), r.OptString(14)};
  return out;
}

void WebhookStore::RecordAttempt(const domain::Delivery& d) {
  std::optional<int64_t> response;
  if (d.response_status) response = *d.response_status;
  s_.Prepare("UPDATE webhook_deliveries SET status = ?, attempts = ?, last_attempt_at = ?, next_attempt_at = ?, "
             "response_status = ?, error = ?, duration_ms = ? WHERE id = ?")
      .Bind(d.status).Bind(d.attempts).Bind(d.last_attempt_at).Bind(d.next_attempt_at).Bind(response).Bind(d.error)
      .Bind(d.duration_ms).Bind(d.id).Exec();
}

int WebhookStore::PruneDeliveries(int64_t before) {
  return s_.Prepare("DELETE FROM webhook_deliveries WHERE created_at < ? AND status <> 'pending'").Bind(before).Exec();
}

}  // namespace kod::store
