#include "lib/domain/run.h"

#include "lib/core/enum_names.h"

namespace kod::domain {
namespace {

constexpr EnumName<RunStatus> kStatusNames[] = {
    {RunStatus::Queued, "queued"},
    {RunStatus::Running, "running"},
    {RunStatus::Completed, "completed"},
    {RunStatus::Failed, "failed"},
    {RunStatus::Cancelled, "cancelled"},
};

constexpr EnumName<RunTrigger> kTriggerNames[] = {
    {RunTrigger::Api, "api"},
    {RunTrigger::Push, "push"},
    {RunTrigger::Rerun, "rerun"},
};

}  // namespace

const char* RunStatusName(RunStatus status) { return NameOf(kStatusNames, status); }
std::optional<RunStatus> ParseRunStatus(std::string_view name) { return ValueOf(kStatusNames, name); }
const char* RunTriggerName(RunTrigger trigger) { return NameOf(kTriggerNames, trigger); }
std::optional<RunTrigger> ParseRunTrigger(std::string_view name) { return ValueOf(kTriggerNames, name); }

bool IsFinished(RunStatus status) {
  return status == RunStatus::Completed || status == RunStatus::Failed || status == RunStatus::Cancelled;
}

}  // namespace kod::domain
