// scrypt key derivation (EVP_KDF), AES-256-GCM sealing (EVP_CIPHER) and the HMAC key check.
#include "lib/crypto/secret_box.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>
#include <utility>

#include "lib/crypto/openssl_util.h"
#include "lib/crypto/random.h"

namespace kod::crypto {

namespace {

constexpr std::string_view kCheckMessage = "kod key check v1";
constexpr std::string_view kAadPrefix = "kod-secret-v1";

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// OSSL_PARAM wants a non-const pointer even for inputs; OpenSSL only reads them. An empty
// string_view may have a null data(), which OpenSSL would take as "parameter not set".
void* ParamData(std::string_view s) {
  static char empty = '\0';
  return s.empty() ? &empty : const_cast<char*>(s.data());
}

bool FitsInt(std::string_view s) { return s.size() <= static_cast<std::size_t>(INT_MAX); }

Status ScryptInto(std::string_view pass, std::string_view salt, uint64_t N, uint32_t r, uint32_t p,
                  unsigned char* out, std::size_t len) {
  // RFC 7914 §2: N a power of two greater than 1, r * p < 2^30, dkLen >= 1.
  if (N < 2 || (N & (N - 1)) != 0) {
    return InvalidArgument("scrypt: N must be a power of two greater than 1");
  }
  if (r < 1 || p < 1 || uint64_t{r} * p >= (uint64_t{1} << 30)) {
    return InvalidArgument("scrypt: r and p must be >= 1 with r * p < 2^30");
  }
  if (len < 1) return InvalidArgument("scrypt: output length must be >= 1");

  internal::Kdf kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
  if (!kdf) return internal::OpenSslError("scrypt unavailable");
  internal::KdfCtx ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return internal::OpenSslError("EVP_KDF_CTX_new failed");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, ParamData(pass), pass.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, ParamData(salt), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &N),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), out, len, params) != 1) {
    OPENSSL_cleanse(out, len);
    return internal::OpenSslError("scrypt failed");
  }
  return Status::Ok();
}

internal::Cipher FetchAesGcm() {
  return internal::Cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
}

// AES-256-GCM with a 12-byte IV and a 16-byte tag; returns ciphertext || tag.
Result<std::string> GcmEncrypt(const unsigned char* key, std::string_view iv,
                               std::string_view plaintext, std::string_view aad) {
  if (!FitsInt(plaintext) || !FitsInt(aad)) {
    return InvalidArgument("plaintext or associated data too large");
  }
  internal::Cipher cipher = FetchAesGcm();
  if (!cipher) return internal::OpenSslError("AES-256-GCM unavailable");
  internal::CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return internal::OpenSslError("EVP_CIPHER_CTX_new failed");
  // 12 bytes is the default IV length of GCM in OpenSSL, so no IVLEN parameter is needed.
  if (EVP_EncryptInit_ex2(ctx.get(), cipher.get(), key, Bytes(iv), nullptr) != 1) {
    return internal::OpenSslError("AES-GCM init failed");
  }
  int n = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return internal::OpenSslError("AES-GCM associated data failed");
  }
  std::string out(plaintext.size() + kTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), o, &n, Bytes(plaintext), static_cast<int>(plaintext.size())) !=
        1) {
      return internal::OpenSslError("AES-GCM encryption failed");
    }
    written = n;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), o + written, &n) != 1) {
    return internal::OpenSslError("AES-GCM finalisation failed");
  }
  written += n;
  if (static_cast<std::size_t>(written) != plaintext.size()) {
    return Internal("AES-GCM produced an unexpected ciphertext length");
  }
  OSSL_PARAM get_tag[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, o + written, kTagBytes),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_CIPHER_CTX_get_params(ctx.get(), get_tag) != 1) {
    return internal::OpenSslError("AES-GCM tag retrieval failed");
  }
  return out;
}

}  // namespace

Result<std::string> Scrypt(std::string_view pass, std::string_view salt, uint64_t N, uint32_t r,
                           uint32_t p, std::size_t len) {
  std::string out(len, '\0');
  Status s = ScryptInto(pass, salt, N, r, p, reinterpret_cast<unsigned char*>(out.data()), len);
  if (!s.ok()) return s;
  return out;
}

std::string NewKeySalt() { return RandomBytes(kKeySaltBytes); }

std::string SecretAad(int64_t repo_id, std::string_view secret_name) {
  std::string aad(kAadPrefix);
  aad.push_back('\0');
  aad += std::to_string(repo_id);
  aad.push_back('\0');
  aad += secret_name;
  return aad;
}

Result<SecretKey> SecretKey::Derive(std::string_view passphrase, std::string_view salt16) {
  if (passphrase.empty()) return InvalidArgument("encryption passphrase is empty");
  if (salt16.size() != kKeySaltBytes) {
    return InvalidArgument("key salt must be " + std::to_string(kKeySaltBytes) + " bytes");
  }
  SecretKey key;
  Status s = ScryptInto(passphrase, salt16, kScryptN, kScryptR, kScryptP, key.key_.data(),
                        key.key_.size());
  if (!s.ok()) return s;
  key.has_key_ = true;
  return key;
}

SecretKey::SecretKey(SecretKey&& other) noexcept : key_(other.key_), has_key_(other.has_key_) {
  other.Wipe();
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    has_key_ = other.has_key_;
    other.Wipe();
  }
  return *this;
}

SecretKey::~SecretKey() { Wipe(); }

void SecretKey::Wipe() noexcept {
  OPENSSL_cleanse(key_.data(), key_.size());
  has_key_ = false;
}

std::string SecretKey::CheckValue() const {
  if (!has_key_) throw std::logic_error("SecretKey::CheckValue on a moved-from key");
  internal::Mac mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) throw std::runtime_error(internal::OpenSslError("HMAC unavailable").message);
  internal::MacCtx ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) throw std::runtime_error(internal::OpenSslError("EVP_MAC_CTX_new failed").message);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), key_.data(), key_.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), Bytes(kCheckMessage), kCheckMessage.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out, &out_len, sizeof out) != 1) {
    throw std::runtime_error(internal::OpenSslError("HMAC-SHA256 failed").message);
  }
  return internal::ToHex(out, out_len);
}

Result<std::string> SecretKey::Seal(std::string_view plaintext, std::string_view aad) const {
  if (!has_key_) return Internal("secret key was moved from");
  unsigned char nonce[kNonceBytes];
  // A fresh random nonce per seal (docs/api.md#secrets). SP 800-38D §8.3 allows 2^32 seals per key
  // with random 96-bit nonces; secret writes under one key are far fewer.
  if (RAND_bytes(nonce, sizeof nonce) != 1) return internal::OpenSslError("RAND_bytes failed");
  std::string_view iv(reinterpret_cast<const char*>(nonce), sizeof nonce);
  Result<std::string> ct = GcmEncrypt(key_.data(), iv, plaintext, aad);
  if (!ct) return ct.status();
  std::string blob;
  blob.reserve(1 + kNonceBytes + ct->size());
  blob.push_back(static_cast<char>(kSealVersion));
  blob += iv;
  blob += *ct;
  return blob;
}

Result<std::string> SecretKey::Open(std::string_view blob, std::string_view aad) const {
  if (!has_key_) return Internal("secret key was moved from");
  if (blob.size() < kSealOverhead) return InvalidArgument("sealed secret is truncated");
  const auto version = static_cast<unsigned char>(blob[0]);
  if (version != kSealVersion) {
    return InvalidArgument("sealed secret has unknown version " + std::to_string(version));
  }
  std::string_view nonce = blob.substr(1, kNonceBytes);
  std::string_view ct = blob.substr(1 + kNonceBytes, blob.size() - kSealOverhead);
  std::string_view tag = blob.substr(blob.size() - kTagBytes);
  if (!FitsInt(ct) || !FitsInt(aad)) return InvalidArgument("sealed secret too large");

  internal::Cipher cipher = FetchAesGcm();
  if (!cipher) return internal::OpenSslError("AES-256-GCM unavailable");
  internal::CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return internal::OpenSslError("EVP_CIPHER_CTX_new failed");
  if (EVP_DecryptInit_ex2(ctx.get(), cipher.get(), key_.data(), Bytes(nonce), nullptr) != 1) {
    return internal::OpenSslError("AES-GCM init failed");
  }
  int n = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return internal::OpenSslError("AES-GCM associated data failed");
  }
  std::string plain(ct.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(plain.data());
  int written = 0;
  // Any failure from here on may leave unauthenticated plaintext in `plain`: wipe it first.
  auto fail = [&](Status s) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return s;
  };
  if (!ct.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), o, &n, Bytes(ct), static_cast<int>(ct.size())) != 1) {
      return fail(internal::OpenSslError("AES-GCM decryption failed"));
    }
    written = n;
  }
  unsigned char tag_buf[kTagBytes];
  std::copy(tag.begin(), tag.end(), tag_buf);
  OSSL_PARAM set_tag[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag_buf, sizeof tag_buf),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_CIPHER_CTX_set_params(ctx.get(), set_tag) != 1) {
    return fail(internal::OpenSslError("AES-GCM tag setup failed"));
  }
  // EVP_DecryptFinal_ex compares the tag in constant time and fails on any mismatch.
  if (EVP_DecryptFinal_ex(ctx.get(), o + written, &n) != 1) {
    internal::ClearOpenSslErrors();
    return fail(Internal(
        "sealed secret failed authentication (wrong key, wrong repository or name, or corrupted)"));
  }
  written += n;
  if (static_cast<std::size_t>(written) != ct.size()) {
    return fail(Internal("AES-GCM produced an unexpected plaintext length"));
  }
  return plain;
}

namespace detail {

Result<std::string> AesGcmEncryptForTest(std::string_view key, std::string_view iv,
                                         std::string_view plaintext, std::string_view aad) {
  if (key.size() != kKeyBytes) return InvalidArgument("AES-256-GCM key must be 32 bytes");
  if (iv.size() != kNonceBytes) return InvalidArgument("AES-GCM IV must be 12 bytes");
  return GcmEncrypt(Bytes(key), iv, plaintext, aad);
}

}  // namespace detail

}  // namespace kod::crypto
