// Handlers of the webhook routes (docs/webhooks.md): parse → service → render.
#include <json/json.h>

#include "fcgi/handlers/fields.h"
#include "fcgi/handlers/handlers.h"
#include "fcgi/paging.h"
#include "lib/service/repos.h"
#include "lib/service/webhooks.h"

namespace kod::fcgi::handlers {
namespace {

Json::Value Ms(int64_t v) { return Json::Value(static_cast<Json::Int64>(v)); }

Json::Value WebhookJson(const domain::Webhook& h) {
  Json::Value v(Json::objectValue);
  v["id"] = h.id;
  v["repoName"] = h.repo_name;
  v["url"] = h.url;
  Json::Value events(Json::arrayValue);
  for (const std::string& e : h.events) events.append(e);
  v["events"] = events;
  v["createdAt"] = Ms(h.created_at);
  v["hasSecret"] = h.has_secret;
  return v;
}

Json::Value DeliveryJson(const domain::Delivery& d) {
  Json::Value v(Json::objectValue);
  v["id"] = d.id;
  v["webhookId"] = d.webhook_id;
  v["event"] = d.event;
  v["url"] = d.url;
  v["status"] = d.status;
  v["attempts"] = d.attempts;
  v["createdAt"] = Ms(d.created_at);
  if (d.last_attempt_at) v["lastAttemptAt"] = Ms(*d.last_attempt_at);
  if (d.next_attempt_at) v["nextAttemptAt"] = Ms(*d.next_attempt_at);
  if (d.response_status) v["responseStatus"] = *d.response_status;
  if (d.error) v["error"] = *d.error;
  if (d.duration_ms) v["durationMs"] = Ms(*d.duration_ms);
  return v;
}

// POST /repos/:name/webhooks: {"url", "events"?, "secret"?}.
Result<service::NewWebhook> ParseNewWebhook(Request& rq) {
  auto body = rq.JsonBody();
  if (!body.ok()) return body.status();
  if (Status s = RequireObject(*body); !s.ok()) return s;
  service::NewWebhook req;
  auto url = StringField(*body, "url");
  if (!url.ok()) return url.status();
  if (!*url) return InvalidArgument("url is required");
  req.url = **url;
  auto events = StringArrayField(*body, "events");
  if (!events.ok()) return InvalidArgument("Invalid webhook events");
  req.events = *events;
  auto secret = StringField(*body, "secret");
  if (!secret.ok()) return secret.status();
  req.secret = *secret;
  return req;
}

Result<service::RepoRef> Repo(Request& rq) { return service::ResolveRepo(rq.env(), rq.principal(), rq.Arg("name")); }

}  // namespace

Status ListWebhooks(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto hooks = service::ListWebhooks(rq.env(), *ref);
  if (!hooks.ok()) return hooks.status();
  Json::Value arr(Json::arrayValue);
  for (const auto& h : *hooks) arr.append(WebhookJson(h));
  rs.Json(200, arr);
  return Status::Ok();
}

Status CreateWebhook(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  // A parse error is the use case's to report: the owner rule comes first.
  auto hook = service::CreateWebhook(rq.env(), *ref, ParseNewWebhook(rq));
  if (!hook.ok()) return hook.status();
  rs.Json(201, WebhookJson(*hook));
  return Status::Ok();
}

Status DeleteWebhook(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  if (Status s = service::DeleteWebhook(rq.env(), *ref, rq.Arg("id")); !s.ok()) return s;
  rs.Empty(204);
  return Status::Ok();
}

Status ListDeliveries(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto page = ParsePageRequest(rq);
  if (!page.ok()) return page.status();
  // Always a page (the list would grow without bound): the first 30 when none is asked for.
  const domain::PageRequest p = page->value_or(domain::PageRequest{});
  auto deliveries = service::ListDeliveries(rq.env(), *ref, rq.Arg("id"), p);
  if (!deliveries.ok()) return deliveries.status();
  Json::Value arr(Json::arrayValue);
  for (const auto& d : deliveries->items) arr.append(DeliveryJson(d));
  rs.Json(200, arr);
  AddPageHeaders(rq, rs, p, deliveries->total);
  return Status::Ok();
}

Status RedeliverWebhook(Request& rq, Response& rs) {
  auto ref = Repo(rq);
  if (!ref.ok()) return ref.status();
  auto d = service::Redeliver(rq.env(), *ref, rq.Arg("id"), rq.Arg("deliveryId"));
  if (!d.ok()) return d.status();
  rs.Json(202, DeliveryJson(*d));
  return Status::Ok();
}

}  // namespace kod::fcgi::handlers
