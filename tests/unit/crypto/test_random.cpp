// Unit tests for lib/crypto/random.h: lengths, alphabets, uniqueness and the absence of bias.
#include "lib/crypto/random.h"

#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <array>
#include <set>
#include <stdexcept>
#include <string>

namespace kod::crypto {
namespace {

bool OnlyFrom(std::string_view s, std::string_view alphabet) {
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alphabet.find(c) != std::string_view::npos; });
}

class RandomTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RandomTest);
  CPPUNIT_TEST(RandomBytesHasRequestedLength);
  CPPUNIT_TEST(RandomBytesDiffersBetweenCalls);
  CPPUNIT_TEST(RandomStringUsesOnlyTheAlphabetAndRequestedLength);
  CPPUNIT_TEST(RandomStringRejectsEmptyOrOversizedAlphabet);
  CPPUNIT_TEST(RandomStringHasNoModuloBias);
  CPPUNIT_TEST(NewIdIsTwelveCharactersOfLowerCaseAlphanumerics);
  CPPUNIT_TEST(NewIdsAreUnique);
  CPPUNIT_TEST(NewTokenValueIsKodPrefixAndThirtyTwoAlphanumerics);
  CPPUNIT_TEST_SUITE_END();

 public:
  void RandomBytesHasRequestedLength() {
    for (size_t n : {0, 1, 12, 16, 1000, 70000}) {
      CPPUNIT_ASSERT_EQUAL(n, RandomBytes(n).size());
    }
  }

  void RandomBytesDiffersBetweenCalls() {
    // Equal 32-byte draws happen with probability 2^-256 from a working CSPRNG.
    CPPUNIT_ASSERT(RandomBytes(32) != RandomBytes(32));
  }

  void RandomStringUsesOnlyTheAlphabetAndRequestedLength() {
    CPPUNIT_ASSERT_EQUAL(std::string(), RandomString(0, "ab"));
    CPPUNIT_ASSERT_EQUAL(std::string(50, 'x'), RandomString(50, "x"));
    std::string s = RandomString(5000, "abc");
    CPPUNIT_ASSERT_EQUAL(size_t{5000}, s.size());
    CPPUNIT_ASSERT(OnlyFrom(s, "abc"));
    // All three characters appear (each missing from 5000 draws with probability (2/3)^5000).
    CPPUNIT_ASSERT(s.find('a') != std::string::npos && s.find('b') != std::string::npos &&
                   s.find('c') != std::string::npos);
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    CPPUNIT_ASSERT_EQUAL(size_t{300}, RandomString(300, all).size());
  }

  void RandomStringRejectsEmptyOrOversizedAlphabet() {
    CPPUNIT_ASSERT_THROW(RandomString(4, ""), std::invalid_argument);
    CPPUNIT_ASSERT_THROW(RandomString(4, std::string(257, 'a')), std::invalid_argument);
  }

  void RandomStringHasNoModuloBias() {
    // With 129 symbols, byte % 129 would give symbols 0..126 two byte values each and symbols
    // 127 and 128 only one: the last two would come up about half as often. With rejection
    // sampling every symbol has probability 1/129. Expected count per symbol here: 2000
    // (standard deviation ~44); the bounds sit more than 10 deviations from both outcomes.
    std::string alphabet;
    for (int i = 0; i < 129; ++i) alphabet.push_back(static_cast<char>(i));
    const std::string s = RandomString(129 * 2000, alphabet);
    std::array<int, 129> counts{};
    for (unsigned char c : s) {
      CPPUNIT_ASSERT(c < 129);
      ++counts[c];
    }
    for (int i = 0; i < 129; ++i) {
      CPPUNIT_ASSERT_MESSAGE("symbol " + std::to_string(i) + " count " + std::to_string(counts[i]),
                             counts[i] > 1500 && counts[i] < 2500);
    }
  }

  void NewIdIsTwelveCharactersOfLowerCaseAlphanumerics() {
    for (int i = 0; i < 200; ++i) {
      std::string id = NewId();
      CPPUNIT_ASSERT_EQUAL(size_t{12}, id.size());
      CPPUNIT_ASSERT_MESSAGE(id, OnlyFrom(id, "abcdefghijklmnopqrstuvwxyz0123456789"));
    }
  }

  void NewIdsAreUnique() {
    std::set<std::string> ids;
    for (int i = 0; i < 2000; ++i) ids.insert(NewId());
    CPPUNIT_ASSERT_EQUAL(size_t{2000}, ids.size());
  }

  void NewTokenValueIsKodPrefixAndThirtyTwoAlphanumerics() {
    std::set<std::string> seen;
    bool saw_upper = false, saw_lower = false, saw_digit = false;
    for (int i = 0; i < 200; ++i) {
      std::string t = NewTokenValue();
      CPPUNIT_ASSERT_EQUAL(size_t{36}, t.size());
      CPPUNIT_ASSERT_EQUAL(std::string("kod_"), t.substr(0, 4));
      std::string rest = t.substr(4);
      CPPUNIT_ASSERT_MESSAGE(t, OnlyFrom(rest,
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "abcdefghijklmnopqrstuvwxyz0123456789"));
      saw_upper |=
          std::any_of(rest.begin(), rest.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
      saw_lower |=
          std::any_of(rest.begin(), rest.end(), [](char c) { return c >= 'a' && c <= 'z'; });
      saw_digit |=
          std::any_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
      seen.insert(t);
    }
    CPPUNIT_ASSERT_EQUAL(size_t{200}, seen.size());
    CPPUNIT_ASSERT(saw_upper && saw_lower && saw_digit);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RandomTest);

}  // namespace
}  // namespace kod::crypto
