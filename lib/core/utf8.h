// UTF-8 checks for text that reaches the database or JSON (RFC 3629: no overlongs, no surrogates).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kod::utf8 {

/// True if `s` is well-formed UTF-8 (RFC 3629 §4: shortest form, no surrogates, ≤ U+10FFFF).
bool IsValid(std::string_view s);

/// The number of code points in `s`, or nullopt if `s` is not well-formed UTF-8.
std::optional<size_t> Length(std::string_view s);

/// `s` with every byte that is not part of a well-formed sequence replaced by U+FFFD, for text
/// that must be stored or shown (step names, error messages built from user bytes).
std::string Sanitize(std::string_view s);

}  // namespace kod::utf8
