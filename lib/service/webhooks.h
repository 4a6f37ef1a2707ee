// Use cases of webhooks (docs/webhooks.md): the API (owner or admin), the events a push or a
// finished run queue, and one delivery attempt as kod-jobs runs it (job kind "webhook-delivery").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/core/status.h"
#include "lib/domain/job.h"
#include "lib/domain/page.h"
#include "lib/domain/run.h"
#include "lib/domain/webhook.h"
#include "lib/service/env.h"
#include "lib/service/jobs.h"
#include "lib/service/push.h"
#include "lib/service/repos.h"

namespace kod::service {

/// kod-jobs' kind of a delivery attempt.
inline constexpr char kWebhookDeliveryJob[] = "webhook-delivery";

/// POST /repos/:name/webhooks after JSON type checks.
struct NewWebhook {
  std::string url;
  std::optional<std::vector<std::string>> events;  // default {"push"}
  std::optional<std::string> secret;
};

/// Owner-only (403 "Only the repository owner can manage webhooks" first, then `req`'s parse
/// error). Errors: 400 url rules (http(s), at most 2048 bytes, no credentials, no refused literal
/// address), 400 "Invalid webhook events", 400 secret length; 500 the no-key message when a secret
/// is given and no key is configured.
Result<domain::Webhook> CreateWebhook(Env& env, const RepoRef& ref, const Result<NewWebhook>& req);
/// Owner-only. The repository's webhooks, oldest first.
Result<std::vector<domain::Webhook>> ListWebhooks(Env& env, const RepoRef& ref);
/// Owner-only. 404 "Webhook not found".
Status DeleteWebhook(Env& env, const RepoRef& ref, const std::string& id);
/// Owner-only. One page of the webhook's deliveries, newest first. 404 "Webhook not found".
Result<domain::Page<domain::Delivery>> ListDeliveries(Env& env, const RepoRef& ref, const std::string& hook_id,
                                                      const domain::PageRequest& page);
/// Owner-only. Queues the delivery again (a fresh round of attempts, the same id and body) unless
/// it is pending already. 404 "Webhook not found" / "Delivery not found".
Result<domain::Delivery> Redeliver(Env& env, const RepoRef& ref, const std::string& hook_id,
                                   const std::string& delivery_id);

/// The `push` event of a push that updated refs, one delivery per subscribed webhook.
void QueuePushEvent(Env& env, const PushReport& push);
/// The `workflow` event of a run that finished (any final status).
void QueueWorkflowEvent(Env& env, const domain::Run& run);

/// One attempt at the delivery `job.subject` (at most 5 s; 2xx is success; else a retry at +30 s,
/// +5 min, +30 min after attempts 1-3, failed after the 4th). Records it on the delivery.
JobOutcome DeliverWebhook(Env& env, const domain::Job& job, bool stopping);
/// A delivery attempt whose kod-jobs died: counted as a failed attempt ("interrupted").
JobOutcome DeliveryAbandoned(Env& env, const domain::Job& job);
/// Deletes finished deliveries older than webhooks.keep_days.
void PruneDeliveries(Env& env);

}  // namespace kod::service
