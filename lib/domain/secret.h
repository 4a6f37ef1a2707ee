// Domain value type of a repository secret's metadata (the value never leaves lib/service).
#pragma once

#include <cstdint>
#include <string>

namespace kod::domain {

/// What the API shows of a secret: its name and when it was created and last written.
struct SecretMeta {
  std::string name;
  int64_t created_at = 0;  // epoch ms
  int64_t updated_at = 0;  // epoch ms; grows on every write, even within one millisecond
};

}  // namespace kod::domain
