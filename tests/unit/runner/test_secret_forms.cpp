// Derived-form masking (issue 13, issue 9 defect 9): each form of a secret is masked wherever the
// output is split across writes; values under 4 bytes are never masked. The expected forms were
// computed independently (Python's base64, json, urllib.parse), not with the code under test.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "runner/output.h"
#include "runner/secret_forms.h"

using namespace std::string_literals;

namespace kod::runner {
namespace {

const std::string kSecret = "p@ss/w\"rd \xc3\xbc~~~\?\?\?!";

struct Form {
  const char* name;
  const char* text;
};
// Every form the contract lists, of kSecret.
const Form kForms[] = {
        {"plain", "p@ss/w\"rd \xc3\xbc~~~\?\?\?!"},
        {"json", "p@ss/w\\\"rd \xc3\xbc~~~\?\?\?!"},
        {"json-ascii", "p@ss/w\\\"rd \\u00fc~~~\?\?\?!"},
        {"percent", "p%40ss%2Fw%22rd%20%C3%BC~~~%3F%3F%3F%21"},
        {"percent-lower", "p%40ss%2fw%22rd%20%c3%bc~~~%3f%3f%3f%21"},
        {"hex", "704073732f7722726420c3bc7e7e7e3f3f3f21"},
        {"HEX", "704073732F7722726420C3BC7E7E7E3F3F3F21"},
        {"base64", "cEBzcy93InJkIMO8fn5+Pz8/IQ=="},
        {"base64-unpadded", "cEBzcy93InJkIMO8fn5+Pz8/IQ"},
        {"base64url", "cEBzcy93InJkIMO8fn5-Pz8_IQ=="},
        {"base64url-unpadded", "cEBzcy93InJkIMO8fn5-Pz8_IQ"},
};

struct Inside {
  const char* name;
  const char* text;  // base64 of (0, 1 or 2 bytes) + kSecret + " and more"
  const char* core;  // the characters that depend on kSecret only
};
const Inside kInside[] = {
        {"std0", "cEBzcy93InJkIMO8fn5+Pz8/ISBhbmQgbW9yZQ==", "cEBzcy93InJkIMO8fn5+Pz8/"},
        {"url0", "cEBzcy93InJkIMO8fn5-Pz8_ISBhbmQgbW9yZQ==", "cEBzcy93InJkIMO8fn5-Pz8_"},
        {"std1", "eHBAc3MvdyJyZCDDvH5+fj8/PyEgYW5kIG1vcmU=", "c3MvdyJyZCDDvH5+fj8/"},
        {"url1", "eHBAc3MvdyJyZCDDvH5-fj8_PyEgYW5kIG1vcmU=", "c3MvdyJyZCDDvH5-fj8_"},
        {"std2", "eHlwQHNzL3cicmQgw7x+fn4/Pz8hIGFuZCBtb3Jl", "QHNzL3cicmQgw7x+fn4/Pz8h"},
        {"url2", "eHlwQHNzL3cicmQgw7x-fn4_Pz8hIGFuZCBtb3Jl", "QHNzL3cicmQgw7x-fn4_Pz8h"},
};

// `text` through one OutputCapture, split into two writes at `at`.
std::string MaskSplit(const std::vector<std::string>& secrets, const std::string& text, size_t at) {
  OutputCapture c(secrets);
  c.Append(text.substr(0, at));
  c.Append(text.substr(at));
  return c.Finish();
}

class SecretFormsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SecretFormsTest);
  CPPUNIT_TEST(EachFormIsMaskedAtEverySplit);
  CPPUNIT_TEST(Base64InsideLongerTextIsMaskedAtEachAlignment);
  CPPUNIT_TEST(ShortValuesAreNeverMasked);
  CPPUNIT_TEST(LinesOfAMultiLineValueGetTheirForms);
  CPPUNIT_TEST(OutputThatCannotStartASecretIsNotHeldBack);
  CPPUNIT_TEST_SUITE_END();

 public:
  void EachFormIsMaskedAtEverySplit() {
    std::string failures;
    for (const Form& f : kForms) {
      const std::string text = "<"s + f.text + ">\n";
      for (size_t at = 0; at <= text.size(); ++at) {
        std::string got = MaskSplit({kSecret}, text, at);
        if (got != "<***>\n") failures += "\n"s + f.name + " split at " + std::to_string(at) + ": " + got;
      }
    }
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
  }

  void Base64InsideLongerTextIsMaskedAtEachAlignment() {
    std::string failures;
    for (const Inside& in : kInside) {
      const std::string text = "data: "s + in.text + "\n";
      for (size_t at = 0; at <= text.size(); ++at) {
        std::string got = MaskSplit({kSecret}, text, at);
        if (got.find(in.core) != std::string::npos || got.find("***") == std::string::npos)
          failures += "\n"s + in.name + " split at " + std::to_string(at) + ": " + got;
      }
    }
    CPPUNIT_ASSERT_MESSAGE(failures, failures.empty());
  }

  // A 1-byte secret `e` used to turn "line" into "lin***".
  void ShortValuesAreNeverMasked() {
    const std::string text = "line one, abc, 2 x\n";
    CPPUNIT_ASSERT_EQUAL(text, MaskSplit({"e", "abc", "2 x", ""}, text, 3));
    CPPUNIT_ASSERT(MaskPatterns({"e", "abc"}).empty());
    CPPUNIT_ASSERT_EQUAL("line *** abc\n"s, MaskSplit({"one,", "abc"}, "line one, abc\n", 7));
  }

  void LinesOfAMultiLineValueGetTheirForms() {
    const std::string value = "first-line\nab\nsecond-line\r\n";
    // base64 of "second-line" and hex of "first-line"; the 2-byte line "ab" is left alone.
    const std::string text = "c2Vjb25kLWxpbmU= 66697273742d6c696e65 ab\n";
    CPPUNIT_ASSERT_EQUAL("*** *** ab\n"s, MaskSplit({value}, text, 10));
  }

  // Live output: a line that cannot be the start of any form is passed on before Finish().
  void OutputThatCannotStartASecretIsNotHeldBack() {
    OutputCapture c({kSecret});
    c.Append("hello world\n");
    CPPUNIT_ASSERT_EQUAL(uint64_t{12}, c.total_bytes());
    c.Append("p@ss");  // could be the start of the secret: held back
    CPPUNIT_ASSERT_EQUAL(uint64_t{12}, c.total_bytes());
    c.Append("port\n");
    CPPUNIT_ASSERT_EQUAL(uint64_t{21}, c.total_bytes());
    CPPUNIT_ASSERT_EQUAL("hello world\np@ssport\n"s, c.Finish());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SecretFormsTest);

}  // namespace
}  // namespace kod::runner
