// A background job of kod-jobs (docs/jobs.md): what to do (kind and subject), when, and who
// holds it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kod::domain {

struct Job {
  int64_t id = 0;
  std::string kind;              // a kind of jobs/kinds.cpp, e.g. "webhook-delivery"
  std::string subject;           // the kind's own record: a delivery id, a repository id, ...
  std::optional<int64_t> repo_id;  // the repository it belongs to (deleted with it)
  int attempts = 0;              // claims so far, this one included once claimed
  int64_t due_at = 0;            // epoch ms
  std::string claimed_by;        // the kod-jobs instance holding it ("" when pending)
  int64_t lease_until = 0;       // epoch ms; the holder keeps extending it (0 when pending)
};

}  // namespace kod::domain
