// OpenSSL error reporting and hex encoding shared by lib/crypto.
#include "lib/crypto/openssl_util.h"

#include <openssl/err.h>

#include <array>

namespace kod::crypto::internal {

Status OpenSslError(std::string_view what) {
  // The earliest queued error is usually the root cause; later ones are wrappers.
  unsigned long code = ERR_get_error();
  std::string message(what);
  if (code != 0) {
    std::array<char, 256> reason{};
    ERR_error_string_n(code, reason.data(), reason.size());
    message += ": ";
    message += reason.data();
  }
  ERR_clear_error();
  return Internal(std::move(message));
}

void ClearOpenSslErrors() { ERR_clear_error(); }

std::string ToHex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
  return out;
}

}  // namespace kod::crypto::internal
