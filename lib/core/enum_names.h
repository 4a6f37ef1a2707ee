// Enum ⇄ name tables: each enum that has a wire or column name lists {value, name} pairs in one
// array, so a value and its name are written side by side and cannot drift apart.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace kod {

/// One row of an enum's name table.
template <class E>
struct EnumName {
  E value;
  const char* name;
};

/// The name `table` gives `value`, or "" when the table has no row for it (a test should walk
/// every value of the enum to rule that out).
template <class E, size_t N>
constexpr const char* NameOf(const EnumName<E> (&table)[N], E value) {
  for (const EnumName<E>& row : table)
    if (row.value == value) return row.name;
  return "";
}

/// The value whose name is exactly `name` (case-sensitive), or nullopt.
template <class E, size_t N>
constexpr std::optional<E> ValueOf(const EnumName<E> (&table)[N], std::string_view name) {
  for (const EnumName<E>& row : table)
    if (name == row.name) return row.value;
  return std::nullopt;
}

}  // namespace kod
