// Internal to lib/crypto: RAII owners for OpenSSL handles and OpenSSL error reporting.
// Never include this header outside lib/crypto/ (docs/development.md#layers: only lib/crypto touches OpenSSL).
#pragma once

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "lib/core/raii.h"
#include "lib/core/status.h"

namespace kod::crypto::internal {

using kod::Free;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, Free<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;
using Cipher = std::unique_ptr<EVP_CIPHER, Free<EVP_CIPHER, EVP_CIPHER_free>>;
using Kdf = std::unique_ptr<EVP_KDF, Free<EVP_KDF, EVP_KDF_free>>;
using KdfCtx = std::unique_ptr<EVP_KDF_CTX, Free<EVP_KDF_CTX, EVP_KDF_CTX_free>>;
using Mac = std::unique_ptr<EVP_MAC, Free<EVP_MAC, EVP_MAC_free>>;
using MacCtx = std::unique_ptr<EVP_MAC_CTX, Free<EVP_MAC_CTX, EVP_MAC_CTX_free>>;
using EncodeCtx = std::unique_ptr<EVP_ENCODE_CTX, Free<EVP_ENCODE_CTX, EVP_ENCODE_CTX_free>>;

/// Status{Internal, "<what>: <OpenSSL reason>"} from the calling thread's OpenSSL error queue,
/// which it then clears so a stale entry cannot be blamed on a later, unrelated call.
/// OpenSSL reasons name the failing operation only; they never contain caller data.
Status OpenSslError(std::string_view what);

/// Clears the calling thread's OpenSSL error queue after an expected failure (a tag mismatch).
void ClearOpenSslErrors();

/// Lower-case hex of `bytes` (2 characters per byte).
std::string ToHex(const unsigned char* bytes, std::size_t n);

}  // namespace kod::crypto::internal
