// Unit tests for lib/crypto/digest.h: SHA-256 known answers, constant-time compare, Base64.
#include "lib/crypto/digest.h"

#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

namespace kod::crypto {
namespace {

using namespace std::string_literals;

class DigestTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DigestTest);
  CPPUNIT_TEST(Sha256OfAbcMatchesFips180Vector);
  CPPUNIT_TEST(HmacSha256MatchesRfc4231Case2);
  CPPUNIT_TEST(Sha256OfEmptyStringMatchesKnownValue);
  CPPUNIT_TEST(Sha256OfTwoBlockMessageMatchesFips180Vector);
  CPPUNIT_TEST(Sha256HashesEmbeddedNulBytes);
  CPPUNIT_TEST(ConstantTimeEqualsAcceptsEqualStrings);
  CPPUNIT_TEST(ConstantTimeEqualsRejectsAnyDifferentByte);
  CPPUNIT_TEST(ConstantTimeEqualsRejectsLengthMismatch);
  CPPUNIT_TEST(Base64EncodeMatchesRfc4648Vectors);
  CPPUNIT_TEST(Base64DecodeMatchesRfc4648Vectors);
  CPPUNIT_TEST(Base64RoundTripsEveryByteValue);
  CPPUNIT_TEST(Base64DecodesBasicAuthCredential);
  CPPUNIT_TEST(Base64DecodeRejectsInvalidInput);
  CPPUNIT_TEST_SUITE_END();

 public:
  void HmacSha256MatchesRfc4231Case2() {
    CPPUNIT_ASSERT_EQUAL(std::string("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
                         HmacSha256Hex("Jefe", "what do ya want for nothing?"));
  }

  void Sha256OfAbcMatchesFips180Vector() {
    // FIPS 180-2 Appendix B.1.
    CPPUNIT_ASSERT_EQUAL("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"s,
                         Sha256Hex("abc"));
  }

  void Sha256OfEmptyStringMatchesKnownValue() {
    CPPUNIT_ASSERT_EQUAL("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"s,
                         Sha256Hex(""));
  }

  void Sha256OfTwoBlockMessageMatchesFips180Vector() {
    // FIPS 180-2 Appendix B.2 (448 bits: the padding spills into a second block).
    CPPUNIT_ASSERT_EQUAL("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"s,
                         Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"));
  }

  void Sha256HashesEmbeddedNulBytes() {
    // The whole string_view is hashed, not a C string up to the first NUL.
    CPPUNIT_ASSERT(Sha256Hex("a\0b"s) != Sha256Hex("a"));
    CPPUNIT_ASSERT_EQUAL(size_t{64}, Sha256Hex("a\0b"s).size());
  }

  void ConstantTimeEqualsAcceptsEqualStrings() {
    CPPUNIT_ASSERT(ConstantTimeEquals("", ""));
    CPPUNIT_ASSERT(ConstantTimeEquals("kod_abc", "kod_abc"));
    CPPUNIT_ASSERT(ConstantTimeEquals("a\0b"s, "a\0b"s));
  }

  void ConstantTimeEqualsRejectsAnyDifferentByte() {
    const std::string base = Sha256Hex("token");
    for (size_t i = 0; i < base.size(); ++i) {
      std::string other = base;
      other[i] = other[i] == '0' ? '1' : '0';
      CPPUNIT_ASSERT_MESSAGE("position " + std::to_string(i), !ConstantTimeEquals(base, other));
    }
    CPPUNIT_ASSERT(!ConstantTimeEquals("a\0b"s, "a\0c"s));
  }

  void ConstantTimeEqualsRejectsLengthMismatch() {
    CPPUNIT_ASSERT(!ConstantTimeEquals("abc", "abcd"));
    CPPUNIT_ASSERT(!ConstantTimeEquals("abcd", "abc"));
    CPPUNIT_ASSERT(!ConstantTimeEquals("", "a"));
    CPPUNIT_ASSERT(!ConstantTimeEquals("a", ""));
  }

  void Base64EncodeMatchesRfc4648Vectors() {
    // RFC 4648 §10.
    CPPUNIT_ASSERT_EQUAL(""s, Base64Encode(""));
    CPPUNIT_ASSERT_EQUAL("Zg=="s, Base64Encode("f"));
    CPPUNIT_ASSERT_EQUAL("Zm8="s, Base64Encode("fo"));
    CPPUNIT_ASSERT_EQUAL("Zm9v"s, Base64Encode("foo"));
    CPPUNIT_ASSERT_EQUAL("Zm9vYg=="s, Base64Encode("foob"));
    CPPUNIT_ASSERT_EQUAL("Zm9vYmE="s, Base64Encode("fooba"));
    CPPUNIT_ASSERT_EQUAL("Zm9vYmFy"s, Base64Encode("foobar"));
    CPPUNIT_ASSERT_EQUAL("AP8A"s, Base64Encode("\0\xff\0"s));
  }

  void Base64DecodeMatchesRfc4648Vectors() {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", ""},
        {"Zg==", "f"},
        {"Zm8=", "fo"},
        {"Zm9v", "foo"},
        {"Zm9vYg==", "foob"},
        {"Zm9vYmE=", "fooba"},
        {"Zm9vYmFy", "foobar"},
        {"AP8A", "\0\xff\0"s},
    };
    for (const auto& [encoded, decoded] : cases) {
      Result<std::string> r = Base64Decode(encoded);
      CPPUNIT_ASSERT_MESSAGE(encoded, r.ok());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(encoded, decoded, *r);
    }
  }

  void Base64RoundTripsEveryByteValue() {
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    // Lengths 0..256 cover every padding case and more than one 64-character decode block.
    for (size_t n = 0; n <= all.size(); ++n) {
      std::string data = all.substr(0, n);
      Result<std::string> r = Base64Decode(Base64Encode(data));
      CPPUNIT_ASSERT_MESSAGE("length " + std::to_string(n), r.ok());
      CPPUNIT_ASSERT_MESSAGE("length " + std::to_string(n), *r == data);
    }
    CPPUNIT_ASSERT_EQUAL(std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"),
                         Base64Encode(all).substr(0, 40));
  }

  void Base64DecodesBasicAuthCredential() {
    // docs/api.md#authentication: Authorization: Basic base64(any:<token>).
    Result<std::string> r = Base64Decode("eDprb2RfYWJj");
    CPPUNIT_ASSERT(r.ok());
    CPPUNIT_ASSERT_EQUAL("x:kod_abc"s, *r);
  }

  void Base64DecodeRejectsInvalidInput() {
    const std::vector<std::string> bad = {
        "Zg",            // missing padding
        "Zg=",           // incomplete padding
        "Z===",          // too much padding
        "====",          // padding only
        "=Zm9",          // padding first
        "Zg==Zg==",      // data after padding
        "Zm9v====",      // a whole quantum of padding
        "Zh==",          // non-zero unused bits (canonical form is "Zg==")
        "Zm9=",          // non-zero unused bits (canonical form is "Zm8=")
        "Zm9v\n",        // line break
        " Zm9v",         // leading space
        "Zm9v ",         // trailing space
        "Zm 9v",         // inner space
        "Zm9\tv",        // tab
        "Zm9v\r\n",      // CRLF
        "-_8=",          // URL-safe alphabet
        "Zm9v!!!!",      // punctuation
        "Zm\0v"s,        // NUL
        "Zm9v\xc3\xa9",  // non-ASCII
        "Zm9vYmFy-",     // OpenSSL's end-of-data marker
        "Z",             // single character
    };
    for (const std::string& input : bad) {
      Result<std::string> r = Base64Decode(input);
      CPPUNIT_ASSERT_MESSAGE("accepted: " + input, !r.ok());
      CPPUNIT_ASSERT_MESSAGE(input, r.status().code == Code::InvalidArgument);
      CPPUNIT_ASSERT_EQUAL(std::string("Invalid base64"), r.status().message);
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DigestTest);

}  // namespace
}  // namespace kod::crypto
