// CSPRNG helpers over RAND_bytes, with rejection sampling for uniform strings.
#include "lib/crypto/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

#include "lib/crypto/openssl_util.h"

namespace kod::crypto {

namespace {

void FillRandom(unsigned char* out, std::size_t n) {
  while (n > 0) {
    int chunk = static_cast<int>(std::min<std::size_t>(n, INT_MAX));
    if (RAND_bytes(out, chunk) != 1) {
      throw std::runtime_error(internal::OpenSslError("RAND_bytes failed").message);
    }
    out += chunk;
    n -= static_cast<std::size_t>(chunk);
  }
}

}  // namespace

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  FillRandom(reinterpret_cast<unsigned char*>(out.data()), n);
  return out;
}

std::string RandomString(std::size_t n, std::string_view alphabet) {
  if (alphabet.empty() || alphabet.size() > 256) {
    throw std::invalid_argument("RandomString: alphabet must hold 1 to 256 characters");
  }
  const std::size_t k = alphabet.size();
  // Bytes in [limit, 256) would make the first (256 % k) characters more likely: drop them.
  const std::size_t limit = 256 - 256 % k;
  std::string out;
  out.reserve(n);
  // Worst case (k = 129) keeps just over half the bytes; draw a little extra per round.
  std::string buf(n + n / 2 + 16, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(buf.data());
  while (out.size() < n) {
    FillRandom(bytes, buf.size());
    for (std::size_t i = 0; i < buf.size() && out.size() < n; ++i) {
      if (bytes[i] < limit) out.push_back(alphabet[bytes[i] % k]);
    }
  }
  // The raw bytes determine the result (e.g. a token value): do not leave them in freed memory.
  OPENSSL_cleanse(buf.data(), buf.size());
  return out;
}

std::string NewId() { return RandomString(kIdLength, kIdAlphabet); }

std::string NewTokenValue() {
  return std::string(kTokenPrefix) + RandomString(kTokenRandomLength, kTokenAlphabet);
}

}  // namespace kod::crypto
