// Random bytes, ids and token values from OpenSSL's CSPRNG (RAND_bytes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kod::crypto {

/// Alphabet of ids: [a-z0-9] (docs/api.md#conventions).
inline constexpr std::string_view kIdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
/// Alphabet of the random part of tokens: [A-Za-z0-9] (docs/api.md#authentication).
inline constexpr std::string_view kTokenAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::size_t kIdLength = 12;              // docs/api.md#conventions
inline constexpr std::string_view kTokenPrefix = "kod_";  // docs/api.md#authentication
inline constexpr std::size_t kTokenRandomLength = 32;     // docs/api.md#authentication

/// `n` bytes from the CSPRNG (any byte values). Thread-safe; safe after fork() (OpenSSL 3
/// reseeds in the child). Throws std::runtime_error if RAND_bytes fails (unseeded RNG):
/// callers must not continue with weaker randomness.
std::string RandomBytes(std::size_t n);

/// `n` characters drawn uniformly and independently from `alphabet` (1–256 bytes, each a
/// single-byte character; duplicates would weight a character). Rejection sampling: bytes
/// >= the largest multiple of alphabet.size() are discarded, so there is no modulo bias.
/// Throws std::invalid_argument for an empty or over-long alphabet, std::runtime_error as
/// RandomBytes does.
std::string RandomString(std::size_t n, std::string_view alphabet);

/// A new id for tokens and workflow runs: 12 characters of [a-z0-9] (docs/api.md#conventions).
std::string NewId();

/// A new token value: "kod_" followed by 32 characters of [A-Za-z0-9] (docs/api.md#authentication),
/// about 190 bits of entropy. The caller stores only Sha256Hex() of the whole string.
std::string NewTokenValue();

}  // namespace kod::crypto
