// Hashing, constant-time comparison and Base64 for credentials (tokens, HTTP Basic auth).
#pragma once

#include <string>
#include <string_view>

#include "lib/core/status.h"

namespace kod::crypto {

/// SHA-256 of `data` (any bytes) as 64 lower-case hex characters.
/// Tokens are stored only as this hash of the whole token string, "kod_" prefix included
/// (docs/api.md#tokens). Thread-safe. Throws std::runtime_error only if OpenSSL itself fails
/// (a broken installation, not bad input).
std::string Sha256Hex(std::string_view data);

/// True when `a` and `b` hold the same bytes. The time taken does not depend on where the
/// contents differ (CRYPTO_memcmp); it does reveal whether the lengths differ, which is not secret
/// for the fixed-length hashes this compares (docs/api.md#authentication: tokens compared in constant time).
/// Lower-case hex HMAC-SHA256(key, data) (RFC 2104), e.g. for webhook signatures.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

bool ConstantTimeEquals(std::string_view a, std::string_view b);

/// Standard Base64 (RFC 4648 §4, alphabet A-Z a-z 0-9 + /, '=' padding) without line breaks.
/// Any bytes in; output length is 4 * ceil(n / 3).
std::string Base64Encode(std::string_view data);

/// Decodes strict, canonical Base64 (RFC 4648 §4) as used by HTTP Basic auth (RFC 7617):
/// length a multiple of 4, only the §4 alphabet, '=' only as the last one or two characters,
/// and unused trailing bits zero (so every byte string has exactly one accepted encoding).
/// Whitespace, line breaks, the URL-safe alphabet and missing padding are rejected.
/// The empty string decodes to the empty string.
/// Errors: InvalidArgument("Invalid base64") for anything else; the message never echoes input.
Result<std::string> Base64Decode(std::string_view encoded);

}  // namespace kod::crypto
