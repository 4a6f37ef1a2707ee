#include "jobs/kinds.h"

namespace kod::jobs {

const std::vector<Kind>& Kinds() {
  // clang-format off
  static const std::vector<Kind> kKinds = {
    // name                run                           abandoned                         periodic
  };
  // clang-format on
  return kKinds;
}

}  // namespace kod::jobs
