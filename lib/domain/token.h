// Domain value type of an API token (never its value: only a hash of it is ever stored).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kod::domain {

/// An API token as it is listed and rendered.
struct Token {
  std::string id;                        // 12 chars [a-z0-9]
  std::string name;
  std::vector<std::string> permissions;  // permission names (lib/auth), in the order given
  std::optional<std::string> username;   // set for linked tokens (see auth::AccessTo)
  int64_t created_at = 0;                // epoch ms
  std::optional<int64_t> expires_at;     // epoch ms
  std::optional<int64_t> last_used_at;   // epoch ms, written at most once a minute
};

}  // namespace kod::domain
