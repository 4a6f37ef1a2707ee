// Names of daemon instances ("<host>/<pid>/<nonce>") that claim work in the database (kod-runner,
// kod-jobs), and whether the instance that holds a claim is gone from this host.
#pragma once

#include <string>

namespace kod::proc {

/// A new instance name for this process: "<hostname>/<pid>/<12 random [a-z0-9]>".
std::string NewInstanceId();

/// True when `id` names an instance of this host whose process no longer exists. Instances of
/// other hosts (or malformed names) are never declared gone here: their leases decide.
bool InstanceGone(const std::string& id);

}  // namespace kod::proc
