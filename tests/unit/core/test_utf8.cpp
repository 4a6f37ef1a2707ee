// lib/core/utf8: well-formedness per RFC 3629 and code-point counting.
#include <cppunit/extensions/HelperMacros.h>

#include "lib/core/utf8.h"

class Utf8Test : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(Utf8Test);
  CPPUNIT_TEST(ValidAndInvalid);
  CPPUNIT_TEST(Lengths);
  CPPUNIT_TEST_SUITE_END();

 public:
  void ValidAndInvalid() {
    for (const char* ok : {"", "ascii", "caf\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9f\x98\x80", "\xef\xbf\xbd",
                           "\xf4\x8f\xbf\xbf"})
      CPPUNIT_ASSERT_MESSAGE(ok, kod::utf8::IsValid(ok));
    for (const char* bad : {"\xff", "\xfe\xff", "\xc0\xaf" /* overlong '/' */, "\xe0\x80\xaf", "\xed\xa0\x80" /* surrogate */,
                            "\xf4\x90\x80\x80" /* > U+10FFFF */, "\xc3" /* cut */, "a\x80", "\xf0\x9f\x98"})
      CPPUNIT_ASSERT_MESSAGE(bad, !kod::utf8::IsValid(bad));
  }

  void Lengths() {
    CPPUNIT_ASSERT_EQUAL(size_t{3}, *kod::utf8::Length("abc"));
    CPPUNIT_ASSERT_EQUAL(size_t{100}, *kod::utf8::Length(std::string(100, 'x')));
    std::string e100;
    for (int i = 0; i < 100; ++i) e100 += "\xc3\xa9";
    CPPUNIT_ASSERT_EQUAL(size_t{100}, *kod::utf8::Length(e100));  // 200 bytes, 100 characters
    CPPUNIT_ASSERT(!kod::utf8::Length("\xff").has_value());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(Utf8Test);

class Utf8SanitizeTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(Utf8SanitizeTest);
  CPPUNIT_TEST(ReplacesOnlyIllFormedBytes);
  CPPUNIT_TEST_SUITE_END();

 public:
  void ReplacesOnlyIllFormedBytes() {
    CPPUNIT_ASSERT_EQUAL(std::string("caf\xc3\xa9"), kod::utf8::Sanitize("caf\xc3\xa9"));
    CPPUNIT_ASSERT_EQUAL(std::string("a\xef\xbf\xbd" "b"), kod::utf8::Sanitize("a\xff" "b"));
    CPPUNIT_ASSERT_EQUAL(std::string("\xef\xbf\xbd\xef\xbf\xbd"), kod::utf8::Sanitize("\xc0\xaf"));
    CPPUNIT_ASSERT(kod::utf8::IsValid(kod::utf8::Sanitize("\xed\xa0\x80\xf4\x90")));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(Utf8SanitizeTest);
