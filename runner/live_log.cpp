// A running step's output on its way to the database (see live_log.h).
#include "runner/live_log.h"

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/service/execution.h"

namespace kod::runner {

LiveStepLog::LiveStepLog(service::Env& env, const domain::Run& run, const std::string& name, OutputCapture& out)
    : env_(env), run_(run), out_(out) {
  auto idx = service::StartStep(env_, run_, name);
  if (idx.ok()) {
    idx_ = *idx;
  } else {
    log::Error("run " + run_.id + ": could not record the start of step '" + name.substr(0, 80) + "': " +
               idx.status().message);
  }
}

void LiveStepLog::Tick() {
  pending_ += out_.TakeNew();
  if (idx_ < 0 || pending_.empty()) return;
  // Leading edge: output after a quiet spell goes out at once; a busy step is written at most
  // every kLiveFlushMs (or per kLiveFlushBytes).
  if (pending_.size() >= kLiveFlushBytes || MonotonicMs() - last_flush_ >= kLiveFlushMs) Flush();
}

bool LiveStepLog::Flush() {
  if (pending_.empty()) return true;
  last_flush_ = MonotonicMs();
  Status s = service::AppendStepOutput(env_, run_, idx_, offset_, pending_);
  if (!s.ok()) {  // retried at the next due tick, same offset
    log::Warn("run " + run_.id + ": appending step output at " + std::to_string(offset_) + ": " + s.message);
    return false;
  }
  offset_ += pending_.size();
  pending_.clear();
  return true;
}

void LiveStepLog::Finish(domain::StepResult& step) {
  pending_ += out_.TakeNew();
  std::string whole = out_.Finish();  // head (all of it taken now), marker and tail
  if (!step.resources) step.resources = domain::StepResources{};
  step.resources->output_bytes = static_cast<int64_t>(out_.raw_bytes());
  if (idx_ < 0) {
    step.output = std::move(whole);
    Status s = service::RecordStep(env_, run_, step);
    if (!s.ok()) log::Error("run " + run_.id + ": could not record step '" + step.name.substr(0, 80) + "': " + s.message);
    return;
  }
  const uint64_t head = out_.taken_bytes();
  if (whole.size() > head) pending_ += whole.substr(head);
  for (int attempt = 0; attempt < 3 && !Flush(); ++attempt) {
  }
  Status s = service::FinishStep(env_, run_, idx_, step);
  if (!s.ok()) log::Error("run " + run_.id + ": could not record the end of step '" + step.name.substr(0, 80) + "': " + s.message);
}

}  // namespace kod::runner
