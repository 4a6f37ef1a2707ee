#include "lib/service/webhooks.h"

#include <json/json.h>

#include <algorithm>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/core/names.h"
#include "lib/crypto/digest.h"
#include "lib/crypto/random.h"
#include "lib/crypto/secret_box.h"
#include "lib/git/repository.h"
#include "lib/net/http_post.h"
#include "lib/service/run_json.h"
#include "lib/service/secrets.h"
#include "lib/store/webhooks.h"

namespace kod::service {
namespace {

constexpr size_t kMaxUrlBytes = 2048;
constexpr size_t kMaxSecretBytes = 1024;
constexpr int kMaxAttempts = 4;
constexpr int64_t kRetryDelayMs[kMaxAttempts - 1] = {30'000, 300'000, 1'800'000};  // after attempts 1-3
constexpr size_t kMaxErrorChars = 500;
constexpr char kUserAgent[] = "Kod-Webhooks/0.1.0";
const char kHookNotFound[] = "Webhook not found";
const std::string kZeroOid(40, '0');

std::string Aad(const std::string& hook_id) { return "webhook:" + hook_id; }

std::string Compact(const Json::Value& v) {
  Json::StreamWriterBuilder w;
  w["indentation"] = "";
  return Json::writeString(w, v);
}

Result<std::vector<std::string>> ValidEvents(const std::optional<std::vector<std::string>>& given) {
  if (!given) return std::vector<std::string>{"push"};
  std::vector<std::string> events = *given;
  if (events.empty()) return InvalidArgument("Invalid webhook events");
  for (const std::string& e : events)
    if (e != "push" && e != "workflow") return InvalidArgument("Invalid webhook events");
  std::sort(events.begin(), events.end());
  events.erase(std::unique(events.begin(), events.end()), events.end());
  return events;
}

Status ValidUrl(const Config& config, const std::string& url) {
  if (url.size() > kMaxUrlBytes) return InvalidArgument("url must be at most 2048 bytes");
  auto parsed = net::ParseUrl(url, {"http", "https"}, "url");
  if (!parsed.ok()) return parsed.status();
  if (parsed->has_credentials) return InvalidArgument("url must not contain credentials");
  auto allowed = net::AllowList::Parse(config.webhooks_allowed_hosts);
  if (!allowed.ok()) return Internal(allowed.status().message);
  return net::CheckLiteralHost(*parsed, *allowed, "url");
}

Result<domain::Webhook> FindHook(Env& env, const RepoRef& ref, const std::string& id) {
  if (!names::IsValidId(id)) return NotFound(kHookNotFound);
  return env.db.Get<domain::Webhook>([&]() -> Result<domain::Webhook> {
    auto hook = store::WebhookStore(env.db).Find(ref.repo.id, id);
    if (!hook) return NotFound(kHookNotFound);
    return *hook;
  });
}

// Queues one delivery of `event` per webhook of the repository subscribed to it, each with its
// job, in one transaction; then wakes kod-jobs. Failures are logged (a push or a run never fails
// because of its webhooks).
void QueueEvent(Env& env, int64_t repo_id, const std::string& event, const Json::Value& payload) {
  int queued = 0;
  Status s = env.db.Run([&]() -> Status {
    queued = 0;
    store::WebhookStore hooks(env.db);
    const int64_t now = NowMs();
    for (const store::SealedWebhook& h : hooks.ForEvent(repo_id, event)) {
      domain::Delivery d;
      d.id = crypto::NewId();
      d.webhook_id = h.hook.id;
      d.event = event;
      d.url = h.hook.url;
      d.status = "pending";
      d.created_at = now;
      d.next_attempt_at = now;
      Json::Value body = payload;
      body["event"] = event;
      body["deliveryId"] = d.id;
      hooks.InsertDelivery(d, Compact(body));
      EnqueueJobInTransaction(env, kWebhookDeliveryJob, d.id, repo_id, now);
      ++queued;
    }
    return Status::Ok();
  }, /*transaction=*/true);
  if (!s.ok()) log::Error("webhooks: " + event + " event of repository " + std::to_string(repo_id) + " lost: " + s.message);
  else if (queued > 0) WakeJobDaemons(env.config);
}

// Records the outcome of attempt number d.attempts + 1 and says when to try again.
JobOutcome RecordOutcome(Env& env, domain::Delivery d, std::optional<int> status, const std::string& error,
                         int64_t duration_ms) {
  const int64_t now = NowMs();
  d.attempts += 1;
  d.last_attempt_at = now;
  d.response_status = status;
  d.duration_ms = duration_ms;
  const bool success = error.empty() && status && *status >= 200 && *status < 300;
  std::string why = !error.empty() ? error : status ? "answered HTTP " + std::to_string(*status) : "no answer";
  d.error = success ? std::nullopt : std::optional<std::string>(why.substr(0, kMaxErrorChars));
  d.next_attempt_at.reset();
  if (success) d.status = "success";
  else if (d.attempts < kMaxAttempts) d.status = "pending", d.next_attempt_at = now + kRetryDelayMs[d.attempts - 1];
  else d.status = "failed";
  Status s = env.db.Run([&] {
    store::WebhookStore(env.db).RecordAttempt(d);
    return Status::Ok();
  });
  if (!s.ok()) log::Error("delivery " + d.id + ": attempt not recorded: " + s.message);
  if (d.next_attempt_at) return JobOutcome::RetryAt(*d.next_attempt_at);
  return JobOutcome::Done();
}

// The request of one attempt: body, headers and the signature when the webhook has a secret.
Result<net::PostRequest> BuildRequest(Env& env, const store::PendingDelivery& p) {
  net::PostRequest rq;
  rq.url = p.delivery.url;
  rq.body = p.body;
  rq.headers = {{"Content-Type", "application/json"},
                {"User-Agent", kUserAgent},
                {"X-Kod-Event", p.delivery.event},
                {"X-Kod-Delivery", p.delivery.id}};
  if (p.sealed_secret) {
    if (env.key == nullptr) return InvalidArgument("the webhook's secret cannot be used: no encryption key configured");
    auto secret = env.key->Open(*p.sealed_secret, Aad(p.delivery.webhook_id));
    if (!secret.ok()) return InvalidArgument("the webhook's secret cannot be decrypted with the configured key");
    rq.headers.emplace_back("X-Kod-Signature-256", "sha256=" + crypto::HmacSha256Hex(*secret, p.body));
  }
  return rq;
}

}  // namespace

Result<domain::Webhook> CreateWebhook(Env& env, const RepoRef& ref, const Result<NewWebhook>& req) {
  if (Status s = RequireOwner(ref, "manage webhooks"); !s.ok()) return s;
  if (!req.ok()) return req.status();
  if (Status s = ValidUrl(env.config, req->url); !s.ok()) return s;
  auto events = ValidEvents(req->events);
  if (!events.ok()) return events.status();
  if (req->secret && (req->secret->empty() || req->secret->size() > kMaxSecretBytes))
    return InvalidArgument("secret must be 1 to 1024 bytes");
  if (req->secret && env.key == nullptr) return Internal(kNoKeyMessage);
  domain::Webhook hook{crypto::NewId(), ref.repo.id, ref.repo.name, req->url, *events, req->secret.has_value(), NowMs()};
  std::optional<std::string> sealed;
  if (req->secret) {
    auto s = env.key->Seal(*req->secret, Aad(hook.id));
    if (!s.ok()) return s.status();
    sealed = *s;
  }
  Status s = env.db.Run([&] {
    store::WebhookStore(env.db).Insert(hook, sealed);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return hook;
}

Result<std::vector<domain::Webhook>> ListWebhooks(Env& env, const RepoRef& ref) {
  if (Status s = RequireOwner(ref, "manage webhooks"); !s.ok()) return s;
  return env.db.Get<std::vector<domain::Webhook>>(
      [&]() -> Result<std::vector<domain::Webhook>> { return store::WebhookStore(env.db).List(ref.repo.id); });
}

Status DeleteWebhook(Env& env, const RepoRef& ref, const std::string& id) {
  if (Status s = RequireOwner(ref, "manage webhooks"); !s.ok()) return s;
  if (!names::IsValidId(id)) return NotFound(kHookNotFound);
  return env.db.Run([&]() -> Status {
    return store::WebhookStore(env.db).Delete(ref.repo.id, id) ? Status::Ok() : NotFound(kHookNotFound);
  });
}

Result<domain::Page<domain::Delivery>> ListDeliveries(Env& env, const RepoRef& ref, const std::string& hook_id,
                                                      const domain::PageRequest& page) {
  if (Status s = RequireOwner(ref, "manage webhooks"); !s.ok()) return s;
  auto hook = FindHook(env, ref, hook_id);
  if (!hook.ok()) return hook.status();
  return env.db.Get<domain::Page<domain::Delivery>>([&]() -> Result<domain::Page<domain::Delivery>> {
    store::WebhookStore hooks(env.db);
    domain::Page<domain::Delivery> out;
    out.items = hooks.ListDeliveries(hook_id, page.Offset(), page.per_page);
    out.total = hooks.CountDeliveries(hook_id);
    return out;
  });
}

Result<domain::Delivery> Redeliver(Env& env, const RepoRef& ref, const std::string& hook_id,
                                   const std::string& delivery_id) {
  if (Status s = RequireOwner(ref, "manage webhooks"); !s.ok()) return s;
  auto hook = FindHook(env, ref, hook_id);
  if (!hook.ok()) return hook.status();
  bool queued = false;
  auto out = env.db.Get<domain::Delivery>([&]() -> Result<domain::Delivery> {
    store::WebhookStore hooks(env.db);
    auto d = names::IsValidId(delivery_id) ? hooks.FindDelivery(hook_id, delivery_id) : std::nullopt;
    if (!d) return NotFound("Delivery not found");
    queued = d->status != "pending";
    if (!queued) return *d;  // already queued: nothing to add
    d->status = "pending";
    d->attempts = 0;
    d->next_attempt_at = NowMs();
    hooks.RecordAttempt(*d);
    EnqueueJobInTransaction(env, kWebhookDeliveryJob, d->id, ref.repo.id, *d->next_attempt_at);
    return *d;
  }, /*transaction=*/true);
  if (out.ok() && queued) WakeJobDaemons(env.config);
  return out;
}

void QueuePushEvent(Env& env, const PushReport& push) {
  const std::string path = RepoPath(env.config, push.repo_name);
  Json::Value refs(Json::arrayValue);
  for (const RefUpdate& u : push.updates) {
    Json::Value r(Json::objectValue);
    const bool created = u.old_oid == kZeroOid, deleted = u.new_oid == kZeroOid;
    r["ref"] = u.ref;
    r["before"] = u.old_oid;
    r["after"] = u.new_oid;
    r["created"] = created;
    r["deleted"] = deleted;
    bool forced = false;
    if (!created && !deleted) {
      auto ff = git::IsAncestor(path, u.old_oid, u.new_oid);
      forced = !ff.ok() || !*ff;
    }
    r["forced"] = forced;
    refs.append(r);
  }
  if (refs.empty()) return;
  Json::Value payload(Json::objectValue);
  payload["repository"]["name"] = push.repo_name;
  Json::Value pusher(Json::objectValue);
  if (push.pusher.token_id) pusher["tokenId"] = *push.pusher.token_id;
  if (push.pusher.key_id) pusher["keyId"] = *push.pusher.key_id;
  if (push.pusher.username) pusher["username"] = *push.pusher.username;
  payload["pusher"] = pusher;
  payload["refs"] = refs;
  QueueEvent(env, push.repo_id, "push", payload);
}

void QueueWorkflowEvent(Env& env, const domain::Run& run) {
  Json::Value payload(Json::objectValue);
  payload["repository"]["name"] = run.repo_name;
  payload["run"] = RunToJson(run, /*with_outputs=*/false);
  QueueEvent(env, run.repo_id, "workflow", payload);
}

JobOutcome DeliverWebhook(Env& env, const domain::Job& job, bool stopping) {
  if (stopping) return JobOutcome::RetryAt(NowMs(), /*counted=*/false);
  std::optional<store::PendingDelivery> p;
  Status s = env.db.Run([&] {
    p = store::WebhookStore(env.db).LoadForAttempt(job.subject);
    return Status::Ok();
  });
  if (!s.ok()) return JobOutcome::RetryAt(NowMs() + kRetryDelayMs[0], /*counted=*/false);
  if (!p || p->delivery.status != "pending") return JobOutcome::Done();  // webhook deleted, or settled
  auto allowed = net::AllowList::Parse(env.config.webhooks_allowed_hosts);
  if (!allowed.ok()) return RecordOutcome(env, p->delivery, std::nullopt, allowed.status().message, 0);
  auto rq = BuildRequest(env, *p);
  if (!rq.ok()) return RecordOutcome(env, p->delivery, std::nullopt, rq.status().message, 0);
  net::PostResult r = net::Post(*rq, *allowed);
  return RecordOutcome(env, p->delivery, r.status, r.error, r.duration_ms);
}

JobOutcome DeliveryAbandoned(Env& env, const domain::Job& job) {
  std::optional<store::PendingDelivery> p;
  Status s = env.db.Run([&] {
    p = store::WebhookStore(env.db).LoadForAttempt(job.subject);
    return Status::Ok();
  });
  if (!s.ok()) return JobOutcome::RetryAt(NowMs() + kRetryDelayMs[0], /*counted=*/false);
  if (!p || p->delivery.status != "pending") return JobOutcome::Done();
  return RecordOutcome(env, p->delivery, std::nullopt, "interrupted (kod-jobs stopped during the attempt)", 0);
}

void PruneDeliveries(Env& env) {
  const int64_t before = NowMs() - static_cast<int64_t>(env.config.webhooks_keep_days) * 86'400'000;
  int pruned = 0;
  Status s = env.db.Run([&] {
    pruned = store::WebhookStore(env.db).PruneDeliveries(before);
    return Status::Ok();
  });
  if (!s.ok()) log::Warn("webhooks: pruning deliveries failed: " + s.message);
  else if (pruned > 0) log::Info("webhooks: pruned " + std::to_string(pruned) + " deliveries");
}

}  // namespace kod::service
