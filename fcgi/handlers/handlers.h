// Route handlers: parse → resolve/authorize → service → render. No SQL, libgit2 or fork here.
#pragma once

#include "fcgi/http.h"

namespace kod::fcgi::handlers {

Status Health(Request&, Response&);
Status GetLimits(Request&, Response&);

Status ListTokens(Request&, Response&);
Status CreateToken(Request&, Response&);
Status DeleteToken(Request&, Response&);

Status ListRepos(Request&, Response&);
Status CreateRepo(Request&, Response&);
Status GetRepo(Request&, Response&);
Status UpdateRepo(Request&, Response&);
Status DeleteRepo(Request&, Response&);

Status ListCollaborators(Request&, Response&);
Status AddCollaborator(Request&, Response&);
Status RemoveCollaborator(Request&, Response&);

Status ListSecrets(Request&, Response&);
Status PutSecret(Request&, Response&);
Status DeleteSecret(Request&, Response&);

Status TriggerRun(Request&, Response&);
Status ListRuns(Request&, Response&);
Status GetRun(Request&, Response&);
Status GetRunLog(Request&, Response&);
Status CancelRun(Request&, Response&);
Status GetWorkflowStatus(Request&, Response&);
Status RerunRun(Request&, Response&);

Status ListWebhooks(Request&, Response&);
Status CreateWebhook(Request&, Response&);
Status DeleteWebhook(Request&, Response&);
Status ListDeliveries(Request&, Response&);
Status RedeliverWebhook(Request&, Response&);

Status GitInfoRefs(Request&, Response&);
Status GitUploadPack(Request&, Response&);
Status GitReceivePack(Request&, Response&);

}  // namespace kod::fcgi::handlers
