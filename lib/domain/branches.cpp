#include "lib/domain/branches.h"

#include <algorithm>

namespace kod::domain {

std::optional<std::string> ChooseHeadBranch(const std::string& configured, const std::vector<std::string>& created) {
  if (created.empty()) return std::nullopt;
  for (const std::string& preferred : {configured, std::string("main"), std::string("master")})
    if (std::find(created.begin(), created.end(), preferred) != created.end()) return preferred;
  return *std::min_element(created.begin(), created.end());  // std::string compares bytes as unsigned
}

}  // namespace kod::domain
