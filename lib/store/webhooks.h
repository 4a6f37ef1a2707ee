// WebhookStore: the `webhooks` and `webhook_deliveries` tables. SQL only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/db/db.h"
#include "lib/domain/webhook.h"

namespace kod::store {

/// A webhook with its sealed secret, for sending.
struct SealedWebhook {
  domain::Webhook hook;
  std::optional<std::string> sealed_secret;
};

/// A delivery with what an attempt needs: its body and its webhook's sealed secret.
struct PendingDelivery {
  domain::Delivery delivery;
  std::string body;
  std::optional<std::string> sealed_secret;
};

/// All methods throw db::SqlError on database errors.
class WebhookStore {
 public:
  explicit WebhookStore(db::Session& s) : s_(s) {}
  void Insert(const domain::Webhook& hook, const std::optional<std::string>& sealed_secret);
  /// The repository's webhooks, oldest first.
  std::vector<domain::Webhook> List(int64_t repo_id);
  std::optional<domain::Webhook> Find(int64_t repo_id, const std::string& id);
  bool Delete(int64_t repo_id, const std::string& id);
  /// The repository's webhooks subscribed to `event`, with their sealed secrets.
  std::vector<SealedWebhook> ForEvent(int64_t repo_id, const std::string& event);

  void InsertDelivery(const domain::Delivery& d, const std::string& body);
  /// One page of a webhook's deliveries, newest first, and their number.
  std::vector<domain::Delivery> ListDeliveries(const std::string& webhook_id, int64_t offset, int limit);
  int64_t CountDeliveries(const std::string& webhook_id);
  std::optional<domain::Delivery> FindDelivery(const std::string& webhook_id, const std::string& id);
  std::optional<PendingDelivery> LoadForAttempt(const std::string& id);
  /// Records an attempt's outcome: the delivery's status, attempts, times, response and error.
  void RecordAttempt(const domain::Delivery& d);
  /// Deletes deliveries created before `before` (epoch ms) that are not pending; returns how many.
  int PruneDeliveries(int64_t before);

 private:
  db::Session& s_;
};

}  // namespace kod::store
