// Unit tests for lib/crypto/secret_box.h: scrypt and AES-GCM known answers, sealing round trips,
// tampering, associated-data binding, wrong keys and the key check value.
#include "lib/crypto/secret_box.h"

#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <utility>
#include <vector>

#include "lib/crypto/digest.h"
#include "tests/unit/crypto/hex.h"

namespace kod::crypto {
namespace {

using namespace std::string_literals;
using testing::Hex;
using testing::Unhex;

const std::string kPassphrase = "correct horse battery staple";
const std::string kSalt = Unhex("000102030405060708090a0b0c0d0e0f");
const std::string kPlain = "s3cr3t-value-do-not-leak";

// Deriving costs ~50 ms (docs/api.md#secrets parameters), so each distinct key is derived once.
const SecretKey& Key(const std::string& passphrase, const std::string& salt) {
  static std::vector<std::pair<std::pair<std::string, std::string>, SecretKey>> cache;
  for (auto& [k, v] : cache) {
    if (k.first == passphrase && k.second == salt) return v;
  }
  Result<SecretKey> key = SecretKey::Derive(passphrase, salt);
  if (!key.ok()) throw std::runtime_error("Derive failed: " + key.status().message);
  cache.emplace_back(std::make_pair(passphrase, salt), std::move(*key));
  return cache.back().second;
}
const SecretKey& MainKey() { return Key(kPassphrase, kSalt); }

std::string MustSeal(const SecretKey& key, std::string_view plain, std::string_view aad) {
  Result<std::string> blob = key.Seal(plain, aad);
  if (!blob.ok()) throw std::runtime_error("Seal failed: " + blob.status().message);
  return *blob;
}

// A failed Open must not hand back, or mention, the plaintext.
void AssertOpenFails(const SecretKey& key, const std::string& blob, std::string_view aad,
                     Code expected, const std::string& what) {
  Result<std::string> r = key.Open(blob, aad);
  CPPUNIT_ASSERT_MESSAGE(what + ": opened", !r.ok());
  CPPUNIT_ASSERT_MESSAGE(what + ": code " + r.status().message, r.status().code == expected);
  CPPUNIT_ASSERT_MESSAGE(what + ": message leaks plaintext",
                         r.status().message.find(kPlain) == std::string::npos);
  CPPUNIT_ASSERT_MESSAGE(what + ": empty message", !r.status().message.empty());
}

void AssertRoundTrip(const std::string& plain) {
  const std::string aad = SecretAad(7, "NAME");
  std::string blob = MustSeal(MainKey(), plain, aad);
  CPPUNIT_ASSERT_EQUAL(plain.size() + kSealOverhead, blob.size());
  Result<std::string> opened = MainKey().Open(blob, aad);
  CPPUNIT_ASSERT_MESSAGE(opened.ok() ? "" : opened.status().message, opened.ok());
  CPPUNIT_ASSERT(*opened == plain);
}

class CryptoKatTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(CryptoKatTest);
  CPPUNIT_TEST(ScryptMatchesRfc7914VectorWithEmptyInputs);
  CPPUNIT_TEST(ScryptMatchesRfc7914PasswordNaClVector);
  CPPUNIT_TEST(ScryptMatchesRfc7914VectorWithKodParameters);
  CPPUNIT_TEST(ScryptRejectsInvalidParameters);
  CPPUNIT_TEST(AesGcmMatchesGcmSpecTestCase13);
  CPPUNIT_TEST(AesGcmMatchesGcmSpecTestCase14);
  CPPUNIT_TEST(AesGcmMatchesGcmSpecTestCase16);
  CPPUNIT_TEST(AesGcmForTestRejectsWrongKeyOrIvSize);
  CPPUNIT_TEST(DerivedKeyOpensBlobMadeByIndependentImplementation);
  CPPUNIT_TEST(CheckValueMatchesIndependentImplementation);
  CPPUNIT_TEST(SecretAadHasDocumentedEncoding);
  CPPUNIT_TEST_SUITE_END();

 public:
  void ScryptMatchesRfc7914VectorWithEmptyInputs() {
    Result<std::string> dk = Scrypt("", "", 16, 1, 1, 64);
    CPPUNIT_ASSERT(dk.ok());
    CPPUNIT_ASSERT_EQUAL(
        "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
        "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"s,
        Hex(*dk));
  }

  void ScryptMatchesRfc7914PasswordNaClVector() {
    Result<std::string> dk = Scrypt("password", "NaCl", 1024, 8, 16, 64);
    CPPUNIT_ASSERT(dk.ok());
    CPPUNIT_ASSERT_EQUAL(
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
        "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"s,
        Hex(*dk));
  }

  void ScryptMatchesRfc7914VectorWithKodParameters() {
    // RFC 7914 §12, third vector: N=16384 r=8 p=1, the parameters of docs/api.md#secrets.
    Result<std::string> dk = Scrypt("pleaseletmein", "SodiumChloride", 16384, 8, 1, 64);
    CPPUNIT_ASSERT(dk.ok());
    CPPUNIT_ASSERT_EQUAL(
        "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
        "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"s,
        Hex(*dk));
  }

  void ScryptRejectsInvalidParameters() {
    struct Case {
      uint64_t N;
      uint32_t r, p;
      size_t len;
      const char* what;
    };
    const Case cases[] = {
        {0, 8, 1, 32, "N=0"},
        {1, 8, 1, 32, "N=1"},
        {1000, 8, 1, 32, "N not a power of 2"},
        {16, 0, 1, 32, "r=0"},
        {16, 8, 0, 32, "p=0"},
        {16, 8, 1, 0, "len=0"},
        {16, 1u << 15, 1u << 15, 32, "r*p >= 2^30"},
    };
    for (const Case& c : cases) {
      Result<std::string> dk = Scrypt("pw", "salt", c.N, c.r, c.p, c.len);
      CPPUNIT_ASSERT_MESSAGE(c.what, !dk.ok());
      CPPUNIT_ASSERT_MESSAGE(c.what, dk.status().code == Code::InvalidArgument);
    }
  }

  // McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", revised spec, Appendix B.
  void AesGcmMatchesGcmSpecTestCase13() {
    Result<std::string> out =
        detail::AesGcmEncryptForTest(std::string(32, '\0'), std::string(12, '\0'), "", "");
    CPPUNIT_ASSERT(out.ok());
    CPPUNIT_ASSERT_EQUAL("530f8afbc74536b9a963b4f1c4cb738b"s, Hex(*out));
  }

  void AesGcmMatchesGcmSpecTestCase14() {
    Result<std::string> out = detail::AesGcmEncryptForTest(
        std::string(32, '\0'), std::string(12, '\0'), std::string(16, '\0'), "");
    CPPUNIT_ASSERT(out.ok());
    CPPUNIT_ASSERT_EQUAL("cea7403d4d606b6e074ec5d3baf39d18"s + "d0d1c8a799996bf0265b98b5d48ab919",
                         Hex(*out));
  }

  void AesGcmMatchesGcmSpecTestCase16() {
    // 60-byte plaintext and 20-byte AAD: neither a whole number of blocks.
    const std::string key =
        Unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    const std::string iv = Unhex("cafebabefacedbaddecaf888");
    const std::string plain = Unhex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
    const std::string aad = Unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    Result<std::string> out = detail::AesGcmEncryptForTest(key, iv, plain, aad);
    CPPUNIT_ASSERT(out.ok());
    CPPUNIT_ASSERT_EQUAL(
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
        "76fc6ece0f4e1768cddf8853bb2d551b"s,
        Hex(*out));
  }

  void AesGcmForTestRejectsWrongKeyOrIvSize() {
    const std::string iv(12, '\0');
    CPPUNIT_ASSERT(detail::AesGcmEncryptForTest(std::string(16, '\0'), iv, "x", "").status().code ==
                   Code::InvalidArgument);
    CPPUNIT_ASSERT(
        detail::AesGcmEncryptForTest(std::string(32, '\0'), std::string(8, '\0'), "x", "")
            .status()
            .code == Code::InvalidArgument);
  }

  void DerivedKeyOpensBlobMadeByIndependentImplementation() {
    // Made with Python: hashlib.scrypt(kPassphrase, salt=kSalt, n=16384, r=8, p=1, dklen=32) and
    // cryptography's AESGCM, nonce 10..1b, b"hunter2", aad b"kod-secret-v1\0" b"42\0DEPLOY_KEY".
    // Pins the derivation parameters, the blob layout and the AAD encoding to the documented
    // format: stored secrets must stay readable across releases.
    const std::string blob =
        Unhex("01101112131415161718191a1b2b53e206b8f8bc5b4a8b9aabcab99370407e2c7913685a");
    Result<std::string> opened = MainKey().Open(blob, SecretAad(42, "DEPLOY_KEY"));
    CPPUNIT_ASSERT_MESSAGE(opened.ok() ? "" : opened.status().message, opened.ok());
    CPPUNIT_ASSERT_EQUAL("hunter2"s, *opened);
  }

  void CheckValueMatchesIndependentImplementation() {
    // Python: hmac.new(scrypt key as above, b"kod key check v1", hashlib.sha256).hexdigest().
    CPPUNIT_ASSERT_EQUAL("9145e70b59c87e87a083a9f92388cfde0e8a2f302c883ee85f0b1986a00646bc"s,
                         MainKey().CheckValue());
    CPPUNIT_ASSERT_EQUAL("ef9fe2635092d43fc8727260925b6494e49316364f96175dd9aba72e58c6d0c3"s,
                         Key("other passphrase", kSalt).CheckValue());
  }

  void SecretAadHasDocumentedEncoding() {
    CPPUNIT_ASSERT(SecretAad(42, "DEPLOY_KEY") ==
                   "kod-secret-v1\0"s
                   "42\0"s
                   "DEPLOY_KEY");
    CPPUNIT_ASSERT(SecretAad(-1, "") ==
                   "kod-secret-v1\0"s
                   "-1\0"s);
    // Field boundaries cannot shift: id 1 with a name starting "2" is not id 12.
    CPPUNIT_ASSERT(SecretAad(1, "2X") != SecretAad(12, "X"));
    CPPUNIT_ASSERT(SecretAad(1, "2\0X"s) != SecretAad(12, "X"));
  }
};

class SecretBoxTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SecretBoxTest);
  CPPUNIT_TEST(SealProducesVersionNonceCiphertextTag);
  CPPUNIT_TEST(SealUsesAFreshNonceEachTime);
  CPPUNIT_TEST(RoundTripsOneByte);
  CPPUNIT_TEST(RoundTripsUnicode);
  CPPUNIT_TEST(RoundTripsExactly64KiB);
  CPPUNIT_TEST(RoundTripsBinaryWithNuls);
  CPPUNIT_TEST(RoundTripsEmptyValue);
  CPPUNIT_TEST(FlippedNonceByteFails);
  CPPUNIT_TEST(FlippedTagByteFails);
  CPPUNIT_TEST(FlippedCiphertextByteFails);
  CPPUNIT_TEST(EveryFlippedBitFails);
  CPPUNIT_TEST(UnknownVersionByteFails);
  CPPUNIT_TEST(TruncatedOrExtendedBlobFails);
  CPPUNIT_TEST(BlobMovedToAnotherRepositoryFails);
  CPPUNIT_TEST(BlobMovedToAnotherSecretNameFails);
  CPPUNIT_TEST(OtherPassphraseFails);
  CPPUNIT_TEST(OtherSaltFails);
  CPPUNIT_TEST(CheckValueIsStableForSamePassphraseAndSalt);
  CPPUNIT_TEST(CheckValueDiffersForOtherPassphraseOrSalt);
  CPPUNIT_TEST(DeriveRejectsBadSaltAndEmptyPassphrase);
  CPPUNIT_TEST(MovedFromKeyRefusesToWork);
  CPPUNIT_TEST(NewKeySaltIsSixteenFreshBytes);
  CPPUNIT_TEST_SUITE_END();

 public:
  void SealProducesVersionNonceCiphertextTag() {
    std::string blob = MustSeal(MainKey(), kPlain, SecretAad(1, "A"));
    CPPUNIT_ASSERT_EQUAL(1 + size_t{12} + kPlain.size() + 16, blob.size());
    CPPUNIT_ASSERT_EQUAL(0x01, static_cast<int>(static_cast<unsigned char>(blob[0])));
    CPPUNIT_ASSERT(blob.find(kPlain) == std::string::npos);
  }

  void SealUsesAFreshNonceEachTime() {
    const std::string aad = SecretAad(1, "A");
    std::string a = MustSeal(MainKey(), kPlain, aad);
    std::string b = MustSeal(MainKey(), kPlain, aad);
    CPPUNIT_ASSERT(a.substr(1, 12) != b.substr(1, 12));
    CPPUNIT_ASSERT(a != b);
  }

  void RoundTripsOneByte() { AssertRoundTrip("x"); }
  void RoundTripsUnicode() { AssertRoundTrip("pässwörd 🔑 密码 \u202e"); }
  void RoundTripsExactly64KiB() {
    // docs/api.md#secrets: the largest value is 65,536 bytes.
    std::string big;
    for (size_t i = 0; i < 65536; ++i) big.push_back(static_cast<char>('a' + i % 26));
    AssertRoundTrip(big);
  }
  void RoundTripsBinaryWithNuls() { AssertRoundTrip("\0a\0\xff\x80\0"s); }
  void RoundTripsEmptyValue() { AssertRoundTrip(""); }

  void FlippedNonceByteFails() {
    const std::string aad = SecretAad(1, "A");
    std::string blob = MustSeal(MainKey(), kPlain, aad);
    blob[1] ^= 0x01;
    AssertOpenFails(MainKey(), blob, aad, Code::Internal, "nonce");
  }

  void FlippedTagByteFails() {
    const std::string aad = SecretAad(1, "A");
    std::string blob = MustSeal(MainKey(), kPlain, aad);
    blob.back() ^= 0x80;
    AssertOpenFails(MainKey(), blob, aad, Code::Internal, "tag");
  }

  void FlippedCiphertextByteFails() {
    const std::string aad = SecretAad(1, "A");
    std::string blob = MustSeal(MainKey(), kPlain, aad);
    blob[13] ^= 0x01;  // first ciphertext byte
    AssertOpenFails(MainKey(), blob, aad, Code::Internal, "ciphertext");
  }

  void EveryFlippedBitFails() {
    const std::string aad = SecretAad(1, "A");
    const std::string blob = MustSeal(MainKey(), kPlain, aad);
    for (size_t i = 0; i < blob.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string t = blob;
        t[i] = static_cast<char>(t[i] ^ (1 << bit));
        // Byte 0 is the version: any change makes it unknown.
        AssertOpenFails(MainKey(), t, aad, i == 0 ? Code::InvalidArgument : Code::Internal,
                        "byte " + std::to_string(i) + " bit " + std::to_string(bit));
      }
    }
  }

  void UnknownVersionByteFails() {
    const std::string aad = SecretAad(1, "A");
    std::string blob = MustSeal(MainKey(), kPlain, aad);
    for (int v : {0x00, 0x02, 0x7f, 0xff}) {
      blob[0] = static_cast<char>(v);
      AssertOpenFails(MainKey(), blob, aad, Code::InvalidArgument, "version " + std::to_string(v));
    }
  }

  void TruncatedOrExtendedBlobFails() {
    const std::string aad = SecretAad(1, "A");
    const std::string blob = MustSeal(MainKey(), kPlain, aad);
    for (size_t n = 0; n < blob.size(); ++n) {
      AssertOpenFails(MainKey(), blob.substr(0, n), aad,
                      n < kSealOverhead ? Code::InvalidArgument : Code::Internal,
                      "length " + std::to_string(n));
    }
    AssertOpenFails(MainKey(), blob + '\0', aad, Code::Internal, "one byte appended");
  }

  void BlobMovedToAnotherRepositoryFails() {
    std::string blob = MustSeal(MainKey(), kPlain, SecretAad(5, "TOKEN"));
    AssertOpenFails(MainKey(), blob, SecretAad(6, "TOKEN"), Code::Internal, "other repo id");
    AssertOpenFails(MainKey(), blob, SecretAad(-5, "TOKEN"), Code::Internal, "negated repo id");
  }

  void BlobMovedToAnotherSecretNameFails() {
    std::string blob = MustSeal(MainKey(), kPlain, SecretAad(5, "TOKEN"));
    AssertOpenFails(MainKey(), blob, SecretAad(5, "TOKEN2"), Code::Internal, "other name");
    AssertOpenFails(MainKey(), blob, SecretAad(5, "token"), Code::Internal, "name case");
    AssertOpenFails(MainKey(), blob, "", Code::Internal, "no aad");
  }

  void OtherPassphraseFails() {
    const std::string aad = SecretAad(1, "A");
    std::string blob = MustSeal(MainKey(), kPlain, aad);
    AssertOpenFails(Key(kPassphrase + "!", kSalt), blob, aad, Code::Internal, "other passphrase");
  }

  void OtherSaltFails() {
    const std::string aad = SecretAad(1, "A");
    std::string blob = MustSeal(MainKey(), kPlain, aad);
    std::string salt = kSalt;
    salt[15] ^= 0x01;
    AssertOpenFails(Key(kPassphrase, salt), blob, aad, Code::Internal, "other salt");
  }

  void CheckValueIsStableForSamePassphraseAndSalt() {
    // A fresh derivation (not the cached key) gives the same check value.
    Result<SecretKey> again = SecretKey::Derive(kPassphrase, kSalt);
    CPPUNIT_ASSERT(again.ok());
    CPPUNIT_ASSERT_EQUAL(MainKey().CheckValue(), again->CheckValue());
    CPPUNIT_ASSERT_EQUAL(MainKey().CheckValue(), MainKey().CheckValue());
    const std::string cv = MainKey().CheckValue();
    CPPUNIT_ASSERT_EQUAL(size_t{64}, cv.size());
    CPPUNIT_ASSERT(cv.find_first_not_of("0123456789abcdef") == std::string::npos);
  }

  void CheckValueDiffersForOtherPassphraseOrSalt() {
    std::string salt = kSalt;
    salt[0] ^= 0x01;
    const std::string cv = MainKey().CheckValue();
    CPPUNIT_ASSERT(cv != Key("other passphrase", kSalt).CheckValue());
    CPPUNIT_ASSERT(cv != Key(kPassphrase, salt).CheckValue());
    // The check value must not be the hash of the passphrase or expose the key check message.
    CPPUNIT_ASSERT(cv != Sha256Hex(kPassphrase));
  }

  void DeriveRejectsBadSaltAndEmptyPassphrase() {
    CPPUNIT_ASSERT(SecretKey::Derive("", kSalt).status().code == Code::InvalidArgument);
    CPPUNIT_ASSERT(SecretKey::Derive(kPassphrase, "").status().code == Code::InvalidArgument);
    CPPUNIT_ASSERT(SecretKey::Derive(kPassphrase, kSalt.substr(0, 15)).status().code ==
                   Code::InvalidArgument);
    CPPUNIT_ASSERT(SecretKey::Derive(kPassphrase, kSalt + "x").status().code ==
                   Code::InvalidArgument);
  }

  void MovedFromKeyRefusesToWork() {
    Result<SecretKey> derived = SecretKey::Derive(kPassphrase, kSalt);
    CPPUNIT_ASSERT(derived.ok());
    SecretKey a = std::move(*derived);
    SecretKey b = std::move(a);
    const std::string aad = SecretAad(1, "A");
    // The moved-to key is the same key.
    Result<std::string> opened = b.Open(MustSeal(MainKey(), kPlain, aad), aad);
    CPPUNIT_ASSERT(opened.ok());
    CPPUNIT_ASSERT_EQUAL(kPlain, *opened);
    // Deliberate use after move: the moved-from key was wiped and says so instead of using an
    // all-zero key.
    CPPUNIT_ASSERT(a.Seal(kPlain, aad).status().code == Code::Internal);
    CPPUNIT_ASSERT(a.Open(MustSeal(b, kPlain, aad), aad).status().code == Code::Internal);
    CPPUNIT_ASSERT_THROW(a.CheckValue(), std::logic_error);
    // Move assignment transfers the key too.
    a = std::move(b);
    CPPUNIT_ASSERT_EQUAL(MainKey().CheckValue(), a.CheckValue());
    CPPUNIT_ASSERT_THROW(b.CheckValue(), std::logic_error);
  }

  void NewKeySaltIsSixteenFreshBytes() {
    std::string a = NewKeySalt();
    CPPUNIT_ASSERT_EQUAL(size_t{16}, a.size());
    CPPUNIT_ASSERT(a != NewKeySalt());
    CPPUNIT_ASSERT(SecretKey::Derive(kPassphrase, a).ok());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CryptoKatTest);
CPPUNIT_TEST_SUITE_REGISTRATION(SecretBoxTest);

}  // namespace
}  // namespace kod::crypto
