// Pagination value types (docs/api.md#pagination): which page a list request asks for, and one
// page of a list with the size of the whole list.
#pragma once

#include <cstdint>
#include <vector>

namespace kod::domain {

/// `?page=N&per_page=M`: page ≥ 1, per_page 1..limits::kPerPageMax (checked by the parser).
struct PageRequest {
  int64_t page = 1;
  int per_page = 30;

  /// Rows skipped before this page.
  int64_t Offset() const { return (page - 1) * per_page; }
};

/// One page of a list, and how many items the whole list has (X-Total-Count).
template <class T>
struct Page {
  std::vector<T> items;
  int64_t total = 0;
};

/// The items of `all` that fall on page `p` (for lists already held in memory).
template <class T>
Page<T> Slice(const std::vector<T>& all, const PageRequest& p) {
  Page<T> out;
  out.total = static_cast<int64_t>(all.size());
  for (int64_t i = p.Offset(); i < out.total && i < p.Offset() + p.per_page; ++i) out.items.push_back(all[i]);
  return out;
}

}  // namespace kod::domain
