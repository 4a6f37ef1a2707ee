#include "fcgi/handlers/handlers.h"
#include "fcgi/router.h"

namespace kod::fcgi {

using auth::Permission;
namespace h = handlers;

const std::vector<Route>& Routes() {
  // clang-format off
  static const std::vector<Route> kRoutes = {
    // method  pattern                                   guard               permission                     handler
    {"GET",    "/health",                                Guard::Public,      kNoPermission,                 h::Health},
    {"GET",    "/limits",                                Guard::Token,       kNoPermission,                 h::GetLimits},
    {"GET",    "/tokens",                                Guard::Admin,       Permission::Admin,             h::ListTokens},
    {"POST",   "/tokens",                                Guard::Admin,       Permission::Admin,             h::CreateToken},
    {"DELETE", "/tokens/:id",                            Guard::Admin,       Permission::Admin,             h::DeleteToken},
    {"GET",    "/repos",                                 Guard::Permission,  Permission::RepoRead,          h::ListRepos},
    {"POST",   "/repos",                                 Guard::Permission,  Permission::RepoWrite,         h::CreateRepo},
    {"GET",    "/repos/:name",                           Guard::Permission,  Permission::RepoRead,          h::GetRepo},
    {"PATCH",  "/repos/:name",                           Guard::Permission,  Permission::RepoWrite,         h::UpdateRepo},
    {"DELETE", "/repos/:name",                           Guard::Permission,  Permission::RepoDelete,        h::DeleteRepo},
    {"GET",    "/repos/:name/collaborators",             Guard::Permission,  Permission::CollaboratorRead,  h::ListCollaborators},
    {"POST",   "/repos/:name/collaborators",             Guard::Permission,  Permission::CollaboratorWrite, h::AddCollaborator},
    {"DELETE", "/repos/:name/collaborators/:username",   Guard::Permission,  Permission::CollaboratorWrite, h::RemoveCollaborator},
    {"GET",    "/repos/:name/secrets",                   Guard::Permission,  Permission::SecretsRead,       h::ListSecrets},
    {"PUT",    "/repos/:name/secrets/:secret",           Guard::Permission,  Permission::SecretsWrite,      h::PutSecret},
    {"DELETE", "/repos/:name/secrets/:secret",           Guard::Permission,  Permission::SecretsWrite,      h::DeleteSecret},
    {"GET",    "/workflows/status",                      Guard::Permission,  Permission::WorkflowRead,      h::GetWorkflowStatus},
    {"POST",   "/repos/:name/workflows",                 Guard::Permission,  Permission::WorkflowTrigger,   h::TriggerRun},
    {"GET",    "/repos/:name/workflows",                 Guard::Permission,  Permission::WorkflowRead,      h::ListRuns},
    {"GET",    "/repos/:name/workflows/:id",             Guard::Permission,  Permission::WorkflowRead,      h::GetRun},
    {"GET",    "/repos/:name/workflows/:id/logs",        Guard::Permission,  Permission::WorkflowRead,      h::GetRunLog},
    {"POST",   "/repos/:name/workflows/:id/cancel",      Guard::Permission,  Permission::WorkflowTrigger,   h::CancelRun},
    {"POST",   "/repos/:name/workflows/:id/rerun",       Guard::Permission,  Permission::WorkflowTrigger,   h::RerunRun},
    {"GET",    "/repos/:name/webhooks",                  Guard::Permission,  Permission::WebhookRead,       h::ListWebhooks},
    {"POST",   "/repos/:name/webhooks",                  Guard::Permission,  Permission::WebhookWrite,      h::CreateWebhook},
    {"DELETE", "/repos/:name/webhooks/:id",              Guard::Permission,  Permission::WebhookWrite,      h::DeleteWebhook},
    {"GET",    "/repos/:name/webhooks/:id/deliveries",   Guard::Permission,  Permission::WebhookRead,       h::ListDeliveries},
    {"POST",   "/repos/:name/webhooks/:id/deliveries/:deliveryId/retry", Guard::Permission, Permission::WebhookWrite, h::RedeliverWebhook},
    {"GET",    "/repos/:name.git/info/refs",             Guard::GitService,  Permission::RepoRead,          h::GitInfoRefs},
    {"POST",   "/repos/:name.git/git-upload-pack",       Guard::Permission,  Permission::RepoRead,          h::GitUploadPack},
    {"POST",   "/repos/:name.git/git-receive-pack",      Guard::Permission,  Permission::RepoWrite,         h::GitReceivePack},
  };
  // clang-format on
  return kRoutes;
}

}  // namespace kod::fcgi
