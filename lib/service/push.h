// What Kod does after git accepted a push (git's post-receive hook, kod-hook, for HTTP and SSH
// pushes alike): HEAD follows the first branches of an empty repository, push runs are queued,
// and the push is recorded for webhooks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/service/env.h"
#include "lib/service/runs.h"

namespace kod::service {

/// Who pushed: a token for HTTP pushes, a key (and its username) for SSH pushes.
struct Pusher {
  std::optional<std::string> token_id;
  std::optional<std::string> key_id;
  std::optional<std::string> username;
};

/// One accepted push as post-receive reports it.
struct PushReport {
  int64_t repo_id = 0;
  std::string repo_name;
  Pusher pusher;
  std::vector<RefUpdate> updates;  // "<old> <new> <ref>" lines, in git's order
};

/// After a push: when it created branches and HEAD's branch does not exist, HEAD moves to the
/// branch domain::ChooseHeadBranch picks (storage.default_branch, main, master, first in byte
/// order; docs/api.md#default-branch); then the push runs are queued (QueuePushRuns) and the
/// `push` webhook event (QueuePushEvent). Returns the
/// lines to show the pusher ("remote: ..."); failures become such lines too, never an error.
std::vector<std::string> AfterPush(Env& env, const PushReport& push);

}  // namespace kod::service
