// SHA-256, constant-time comparison and Base64 via OpenSSL EVP.
#include "lib/crypto/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <climits>
#include <stdexcept>

#include "lib/crypto/openssl_util.h"

namespace kod::crypto {

namespace {

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  // EVP_Digest takes a size_t length, so no chunking is needed.
  if (EVP_Digest(data.data(), data.size(), md, &md_len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error(internal::OpenSslError("SHA-256 failed").message);
  }
  return internal::ToHex(md, md_len);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), mac, &len) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  // EVP_EncodeBlock takes an int length; feed whole 3-byte groups so chunks concatenate.
  constexpr std::size_t kChunk = std::size_t{3} * 1024 * 1024;
  std::string buf;
  for (std::size_t pos = 0; pos < data.size(); pos += kChunk) {
    std::string_view part = data.substr(pos, kChunk);
    buf.resize((part.size() + 2) / 3 * 4 + 1);  // + the NUL EVP_EncodeBlock writes
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(buf.data()), Bytes(part),
                            static_cast<int>(part.size()));
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view encoded) {
  const Status invalid = InvalidArgument("Invalid base64");
  if (encoded.empty()) return std::string();
  // Cheap structural checks first; EVP_DecodeUpdate takes an int length.
  if (encoded.size() % 4 != 0 || encoded.size() > static_cast<std::size_t>(INT_MAX)) {
    return invalid;
  }
  // EVP_DecodeUpdate (unlike EVP_DecodeBlock) strips '=' padding from the output length, but it
  // skips whitespace and accepts non-zero trailing bits; the round trip below rejects those.
  internal::EncodeCtx ctx(EVP_ENCODE_CTX_new());
  if (!ctx) return internal::OpenSslError("EVP_ENCODE_CTX_new failed");
  EVP_DecodeInit(ctx.get());
  std::string out(encoded.size() / 4 * 3 + 64, '\0');  // EVP may buffer up to 64 characters
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int n1 = 0;
  if (EVP_DecodeUpdate(ctx.get(), o, &n1, Bytes(encoded), static_cast<int>(encoded.size())) < 0) {
    internal::ClearOpenSslErrors();
    return invalid;
  }
  int n2 = 0;
  if (EVP_DecodeFinal(ctx.get(), o + n1, &n2) != 1) {
    internal::ClearOpenSslErrors();
    return invalid;
  }
  out.resize(static_cast<std::size_t>(n1) + static_cast<std::size_t>(n2));
  // Canonical form: exactly one encoding per byte string (RFC 4648 §3.5 allows decoders to
  // reject non-zero pad bits; §3.3 to reject characters outside the alphabet).
  if (Base64Encode(out) != encoded) return invalid;
  return out;
}

}  // namespace kod::crypto
