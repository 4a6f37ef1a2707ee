// Domain value types of webhooks and their deliveries (docs/webhooks.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kod::domain {

/// A repository's webhook. The secret itself never leaves lib/service.
struct Webhook {
  std::string id;                   // 12 [a-z0-9]
  int64_t repo_id = 0;
  std::string repo_name;
  std::string url;                  // http(s)://, no credentials, at most 2048 bytes
  std::vector<std::string> events;  // subset of {"push", "workflow"}, sorted
  bool has_secret = false;
  int64_t created_at = 0;
};

/// One delivery of one event to one webhook, and how its attempts went.
struct Delivery {
  std::string id;          // 12 [a-z0-9]; also X-Kod-Delivery and the body's deliveryId
  std::string webhook_id;
  std::string event;       // "push" or "workflow"
  std::string url;
  std::string status;      // "pending", "success", "failed"
  int attempts = 0;
  int64_t created_at = 0;
  std::optional<int64_t> last_attempt_at, next_attempt_at, duration_ms;
  std::optional<int> response_status;
  std::optional<std::string> error;
};

}  // namespace kod::domain
