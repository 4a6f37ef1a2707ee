// Rules about branches that several use cases share: where HEAD goes when a push creates
// branches (docs/api.md#default-branch), and protected-branch patterns (docs/api.md#protected-branches).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kod::domain {

/// The branch HEAD moves to when a push created `created` (short names) in a repository whose
/// HEAD branch does not exist: `configured` (storage.default_branch) if created, else "main",
/// else "master", else the first created branch in byte order. nullopt when `created` is empty.
std::optional<std::string> ChooseHeadBranch(const std::string& configured, const std::vector<std::string>& created);

}  // namespace kod::domain
