#include "lib/service/run_json.h"

namespace kod::service {
namespace {
Json::Value Ms(int64_t v) { return Json::Value(static_cast<Json::Int64>(v)); }
Json::Value Int(int64_t v) { return Json::Value(static_cast<Json::Int64>(v)); }
}  // namespace

Json::Value RunToJson(const domain::Run& run, bool with_outputs) {
  Json::Value v(Json::objectValue);
  v["id"] = run.id;
  v["repoName"] = run.repo_name;
  v["branch"] = run.branch;
  v["commit"] = run.commit;
  v["trigger"] = domain::RunTriggerName(run.trigger);
  v["status"] = domain::RunStatusName(run.status);
  v["createdAt"] = Ms(run.created_at);
  if (run.started_at) v["startedAt"] = Ms(*run.started_at);
  if (run.completed_at) v["completedAt"] = Ms(*run.completed_at);
  if (run.rerun_of) v["rerunOf"] = *run.rerun_of;
  if (domain::IsFinished(run.status) || !run.steps.empty()) {
    Json::Value result(Json::objectValue);
    if (run.success) result["success"] = *run.success;
    if (run.duration_ms) result["duration"] = Ms(*run.duration_ms);
    Json::Value steps(Json::arrayValue);
    for (const domain::StepResult& s : run.steps) {
      Json::Value step(Json::objectValue);
      step["name"] = s.name;
      step["success"] = s.success;
      if (with_outputs) step["output"] = s.output;
      step["duration"] = Ms(s.duration_ms);
      if (s.error) step["error"] = *s.error;
      if (s.skipped) step["skipped"] = true;
      if (s.running) step["running"] = true;
      if (s.output_truncated) step["outputTruncated"] = true;
      if (s.resources) {
        Json::Value res(Json::objectValue);
        res["cpuMs"] = Int(s.resources->cpu_ms);
        res["maxRssKb"] = Int(s.resources->max_rss_kb);
        res["outputBytes"] = Int(s.resources->output_bytes);
        step["resources"] = res;
      }
      steps.append(step);
    }
    result["steps"] = steps;
    v["result"] = result;
  }
  return v;
}

}  // namespace kod::service
