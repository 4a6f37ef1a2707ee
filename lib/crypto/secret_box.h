// Secrets at rest: scrypt key derivation and AES-256-GCM sealing bound to repository and name.
//
// Rules from docs/api.md#secrets: AES-256-GCM with a fresh random nonce per write; the key derived
// from the configured KOD_ENCRYPTION_KEY with scrypt (N=16384, r=8, p=1, 32 bytes) and a random
// 16-byte salt stored beside a key check value; repository id and secret name bound in as
// associated data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/core/status.h"

namespace kod::crypto {

inline constexpr uint64_t kScryptN = 16384;       // docs/api.md#secrets
inline constexpr uint32_t kScryptR = 8;           // docs/api.md#secrets
inline constexpr uint32_t kScryptP = 1;           // docs/api.md#secrets
inline constexpr std::size_t kKeyBytes = 32;      // AES-256
inline constexpr std::size_t kKeySaltBytes = 16;  // docs/api.md#secrets
inline constexpr unsigned char kSealVersion = 0x01;
inline constexpr std::size_t kNonceBytes = 12;  // GCM's native IV size (NIST SP 800-38D §8.2)
inline constexpr std::size_t kTagBytes = 16;
/// Smallest valid sealed blob: version byte, nonce, tag (empty plaintext).
inline constexpr std::size_t kSealOverhead = 1 + kNonceBytes + kTagBytes;

/// scrypt (RFC 7914) through OpenSSL's EVP_KDF "SCRYPT". `pass` and `salt` are any bytes (may be
/// empty); `N` is the CPU/memory cost, a power of two > 1; `r` block size >= 1; `p`
/// parallelism >= 1; `len` output bytes >= 1. Memory used is about 128 * r * N bytes, and
/// OpenSSL refuses more than its default limit (1025 MiB).
/// Errors: InvalidArgument for parameters outside those ranges; Internal if OpenSSL fails.
/// General form for known-answer tests; Kod's key comes from SecretKey::Derive.
Result<std::string> Scrypt(std::string_view pass, std::string_view salt, uint64_t N, uint32_t r,
                           uint32_t p, std::size_t len);

/// 16 fresh random bytes for a new key salt (docs/api.md#secrets), stored in the database beside
/// SecretKey::CheckValue(). Throws std::runtime_error as RandomBytes does.
std::string NewKeySalt();

/// Associated data for a secret: "kod-secret-v1" NUL <decimal repo_id> NUL <secret_name>.
/// Binding the repository id (stable across renames, docs/api.md#repositories) and the name means a
/// blob copied to another repository or another secret name fails to open. The encoding is
/// unambiguous: the prefix is fixed, a decimal number holds no NUL, and the name is the rest.
std::string SecretAad(int64_t repo_id, std::string_view secret_name);

/// The 32-byte AES-256-GCM key for secrets. Move-only; the key bytes never leave the object and
/// are wiped (OPENSSL_cleanse) when it is destroyed or moved from. Const members are
/// thread-safe (each call uses its own OpenSSL contexts).
class SecretKey {
 public:
  /// Derives the key from the configured passphrase (KOD_ENCRYPTION_KEY, any non-empty bytes)
  /// and the 16-byte salt stored in the database, with scrypt N=16384 r=8 p=1 → 32 bytes
  /// (docs/api.md#secrets). Takes about 50 ms and 16 MiB; do it once at start.
  /// Errors: InvalidArgument for an empty passphrase or a salt that is not 16 bytes;
  /// Internal if OpenSSL fails.
  static Result<SecretKey> Derive(std::string_view passphrase, std::string_view salt16);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  /// Key check value stored in the database to detect, at start, a passphrase that does not
  /// match the stored secrets (docs/api.md#secrets): lower-case hex (64 characters) of
  /// HMAC-SHA256(key, "kod key check v1"). Deterministic for one passphrase and salt; reveals
  /// nothing usable about the key. Compare it with ConstantTimeEquals.
  /// Throws std::logic_error on a moved-from key, std::runtime_error if OpenSSL fails.
  std::string CheckValue() const;

  /// Encrypts `plaintext` (any bytes) with a fresh random 96-bit nonce, authenticating `aad`
  /// (use SecretAad()). Returns the binary blob
  ///   0x01 | nonce (12 bytes) | ciphertext (plaintext.size() bytes) | tag (16 bytes),
  /// i.e. plaintext.size() + kSealOverhead bytes; store it in a binary column.
  /// Errors: InvalidArgument for inputs over 2^31-1 bytes; Internal if the RNG or OpenSSL fails
  /// or the key was moved from.
  Result<std::string> Seal(std::string_view plaintext, std::string_view aad) const;

  /// Verifies and decrypts a blob made by Seal() with the same key and the same `aad`.
  /// Errors (messages never contain plaintext or key material):
  ///   InvalidArgument — shorter than kSealOverhead ("truncated") or an unknown version byte;
  ///   Internal        — authentication failed: wrong key, different aad (blob moved to another
  ///                     repository or name), or altered bytes. No plaintext is returned.
  /// Blobs come from the database, never from clients, so callers should treat any failure as
  /// a server fault.
  Result<std::string> Open(std::string_view blob, std::string_view aad) const;

 private:
  SecretKey() = default;
  void Wipe() noexcept;

  std::array<unsigned char, kKeyBytes> key_{};
  bool has_key_ = false;
};

namespace detail {

/// AES-256-GCM encryption exactly as Seal() performs it, with a caller-chosen key and IV, for
/// known-answer tests only (never call it with a fixed IV in production: GCM nonce reuse
/// reveals plaintext and the authentication key). `key` 32 bytes, `iv` 12 bytes, `plaintext`
/// and `aad` any bytes. Returns ciphertext || 16-byte tag.
/// Errors: InvalidArgument for other key/IV sizes; Internal if OpenSSL fails.
Result<std::string> AesGcmEncryptForTest(std::string_view key, std::string_view iv,
                                         std::string_view plaintext, std::string_view aad);

}  // namespace detail

}  // namespace kod::crypto
