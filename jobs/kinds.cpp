#include "jobs/kinds.h"

#include "lib/service/webhooks.h"

namespace kod::jobs {
namespace {

service::JobOutcome Deliver(service::Env& env, const domain::Job& job, const JobContext& ctx) {
  return service::DeliverWebhook(env, job, ctx.stopping());
}

}  // namespace

const std::vector<Kind>& Kinds() {
  // clang-format off
  static const std::vector<Kind> kKinds = {
    // name                          run      abandoned                    periodic
    {service::kWebhookDeliveryJob,    Deliver, service::DeliveryAbandoned,  service::PruneDeliveries},
  };
  // clang-format on
  return kKinds;
}

}  // namespace kod::jobs
