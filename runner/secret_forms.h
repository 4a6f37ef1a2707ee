// The byte strings that step-output masking replaces for a set of secret values: each value, each
// line of a multi-line one, and their derived forms (docs/workflows.md#masking).
#pragma once

#include <string>
#include <vector>

namespace kod::runner {

/// The patterns to replace by `***` for `values`. For each value of at least
/// limits::kMinMaskedSecretBytes bytes (shorter ones are never masked: a 1-byte secret `e` would
/// mangle every log), and for each non-blank line of at least that many bytes of a multi-line
/// value (a trailing `\r` dropped), in this order:
///  - the bytes themselves;
///  - a JSON string escape: minimal (`"`, `\`, control bytes) and ASCII-only (`\uXXXX`, lower
///    case, surrogate pairs above U+FFFF; only for valid UTF-8);
///  - percent-encoding (RFC 3986: everything but A-Z a-z 0-9 - . _ ~), upper- and lower-case hex;
///  - hex, lower and upper case;
///  - Base64, standard (RFC 4648 §4) and URL-safe (§5): the whole encoding with and without
///    padding, and for each of the three alignments the value can have inside longer encoded
///    text (the value starting 0, 1 or 2 bytes into a 3-byte group), the run of characters that
///    depends on the value's bytes only (the whole groups it covers). Encoding is OpenSSL's.
/// A form equal to one already listed is left out. Pure; any bytes in.
std::vector<std::string> MaskPatterns(const std::vector<std::string>& values);

}  // namespace kod::runner
