// RAII for C handles: one deleter template for every library's `*_free` function (docs/development.md#raii).
#pragma once

#include <memory>

namespace kod {

/// Deleter calling the C library's free function F (e.g. git_repository_free); null-safe.
/// Use as std::unique_ptr<T, Free<T, F>>.
template <class T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const noexcept {
    if (p) F(p);
  }
};

}  // namespace kod
