// A run as JSON (docs/api.md#workflow-runs), shared by the API's answers and the `workflow`
// webhook payload (which leaves the steps' output out).
#pragma once

#include <json/json.h>

#include "lib/domain/run.h"

namespace kod::service {

/// The Run shape of docs/api.md; `result` once it has finished or has steps. Without
/// `with_outputs` the steps carry no `output`.
Json::Value RunToJson(const domain::Run& run, bool with_outputs);

}  // namespace kod::service
