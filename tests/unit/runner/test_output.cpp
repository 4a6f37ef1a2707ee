// Unit tests for runner/output.h: secret masking, UTF-8 repair and the head+tail cap.
#include "runner/output.h"

#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <string>
#include <vector>

namespace kod::runner {
namespace {

using namespace std::string_literals;

// Strict UTF-8 check (RFC 3629), independent of the code under test.
bool IsValidUtf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    int n;
    unsigned lo = 0x80, hi = 0xBF;
    if (b < 0x80) { ++i; continue; }
    if (b >= 0xC2 && b <= 0xDF) n = 1;
    else if (b >= 0xE0 && b <= 0xEF) { n = 2; if (b == 0xE0) lo = 0xA0; if (b == 0xED) hi = 0x9F; }
    else if (b >= 0xF0 && b <= 0xF4) { n = 3; if (b == 0xF0) lo = 0x90; if (b == 0xF4) hi = 0x8F; }
    else return false;
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      auto c = static_cast<unsigned char>(s[i + k]);
      if (c < lo || c > hi) return false;
      lo = 0x80; hi = 0xBF;
    }
    i += n + 1;
  }
  return true;
}

std::string Capture(const std::vector<std::string>& secrets, const std::vector<std::string>& chunks,
                    std::size_t limit = OutputCapture::kDefaultLimit) {
  OutputCapture c(secrets, limit);
  for (const auto& ch : chunks) c.Append(ch);
  return c.Finish();
}

std::string Marker(uint64_t n) { return "\n[... " + std::to_string(n) + " bytes of output omitted ...]\n"; }

const std::string kFffd = "\xEF\xBF\xBD";

class OutputCaptureTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(OutputCaptureTest);
  CPPUNIT_TEST(PlainOutputPassesThroughUnchanged);
  CPPUNIT_TEST(EveryOccurrenceOfASecretIsMasked);
  CPPUNIT_TEST(MultiLineSecretIsMaskedWholeAndLineByLine);
  CPPUNIT_TEST(BlankLinesOfMultiLineSecretAreNotMasked);
  CPPUNIT_TEST(SecretSplitAtEveryChunkBoundaryIsMasked);
  CPPUNIT_TEST(SecretFedOneByteAtATimeIsMasked);
  CPPUNIT_TEST(LongestMatchWins);
  CPPUNIT_TEST(OverlappingSecretsMaskLeftmostFirst);
  CPPUNIT_TEST(PartialSecretAtEndIsKeptAsWritten);
  CPPUNIT_TEST(EmptySecretIsIgnored);
  CPPUNIT_TEST(InvalidUtf8BecomesReplacementCharacter);
  CPPUNIT_TEST(Utf8SequenceSplitAcrossChunksIsKept);
  CPPUNIT_TEST(NonUtf8SecretIsMaskedBeforeRepair);
  CPPUNIT_TEST(SmallOutputIsNotCapped);
  CPPUNIT_TEST(CapKeepsHeadAndTailWithMarker);
  CPPUNIT_TEST(CapNeverCutsInsideUtf8Sequence);
  CPPUNIT_TEST(TwentyMegabytesKeepOneMebibyte);
  CPPUNIT_TEST(LongAdversarialSecretStaysLinear);
  CPPUNIT_TEST(FinishTwiceAndAppendAfterFinishAreHarmless);
  CPPUNIT_TEST_SUITE_END();

 public:
  void PlainOutputPassesThroughUnchanged() {
    CPPUNIT_ASSERT_EQUAL("hello\nwörld ✓\n"s, Capture({}, {"hel", "lo\nw\xC3", "\xB6rld \xE2\x9C\x93\n"}));
    CPPUNIT_ASSERT_EQUAL("keep s3cr3 and ecr3t\n"s, Capture({"s3cr3t"}, {"keep s3cr3 and ecr3t\n"}));
  }

  void EveryOccurrenceOfASecretIsMasked() {
    CPPUNIT_ASSERT_EQUAL("token=*** again ***,***\n"s,
                         Capture({"hunter2"}, {"token=hunter2 again hunter2,hunter2\n"}));
  }

  void MultiLineSecretIsMaskedWholeAndLineByLine() {
    std::string key = "-----BEGIN KEY-----\nMIIEabc\r\nxyz789\n-----END KEY-----\n";
    // The whole value at once is one mask.
    CPPUNIT_ASSERT_EQUAL("k=***done"s, Capture({key}, {"k=" + key + "done"}));
    // Each line on its own (trailing \r dropped from the pattern), in any order and context.
    CPPUNIT_ASSERT_EQUAL("a ***\n*** b\n***\n***\n"s,
                         Capture({key}, {"a xyz789\nMIIEabc b\n-----END KEY-----\n-----BEGIN KEY-----\n"}));
    // Printed with other line endings: the lines are still masked.
    CPPUNIT_ASSERT_EQUAL("***\r\n***\r\n"s, Capture({key}, {"MIIEabc\r\nxyz789\r\n"}));
  }

  void BlankLinesOfMultiLineSecretAreNotMasked() {
    CPPUNIT_ASSERT_EQUAL("x\n\n  \ny ***\n"s, Capture({"l1-secret\n\n  \n"}, {"x\n\n  \ny l1-secret\n"}));
  }

  void SecretSplitAtEveryChunkBoundaryIsMasked() {
    const std::string text = "before Sup3rS3cret! after";
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
      for (std::size_t cut2 = cut; cut2 <= text.size(); ++cut2) {
        std::string got = Capture({"Sup3rS3cret!"}, {text.substr(0, cut), text.substr(cut, cut2 - cut),
                                                     text.substr(cut2)});
        CPPUNIT_ASSERT_EQUAL_MESSAGE("cuts " + std::to_string(cut) + "," + std::to_string(cut2),
                                     "before *** after"s, got);
      }
    }
  }

  void SecretFedOneByteAtATimeIsMasked() {
    const std::string text = "aSup3rSup3rS3cret!bSup3rS3cret!";
    OutputCapture c({"Sup3rS3cret!"});
    for (char ch : text) c.Append(std::string(1, ch));
    CPPUNIT_ASSERT_EQUAL("aSup3r***b***"s, c.Finish());
  }

  void LongestMatchWins() {
    // "abcd" is a prefix of "abcdefgh": the longer one is masked whole, not "***efgh".
    CPPUNIT_ASSERT_EQUAL("x *** y *** z ***e\n"s,
                         Capture({"abcd", "abcdefgh"}, {"x abcdefgh y abcd z abcde\n"}));
    // Same with the secrets given the other way round and the text split inside the long one.
    CPPUNIT_ASSERT_EQUAL("***|***"s, Capture({"abcdefgh", "abcd"}, {"abcd", "efgh|ab", "cd"}));
  }

  void OverlappingSecretsMaskLeftmostFirst() {
    // "bcde" and "cdef" overlap in "bcdef": the leftmost one is masked and the rest is left as is.
    CPPUNIT_ASSERT_EQUAL("a***fg"s, Capture({"cdef", "bcde"}, {"abcdefg"}));
  }

  void PartialSecretAtEndIsKeptAsWritten() {
    CPPUNIT_ASSERT_EQUAL("tail: Sup3rS3cr"s, Capture({"Sup3rS3cret!"}, {"tail: Sup3r", "S3cr"}));
  }

  void EmptySecretIsIgnored() {
    CPPUNIT_ASSERT_EQUAL("abc ***\n"s, Capture({"", "wxyz"}, {"abc wxyz\n"}));
  }

  void InvalidUtf8BecomesReplacementCharacter() {
    CPPUNIT_ASSERT_EQUAL("a" + kFffd + "b"s, Capture({}, {"a\xFF" "b"}));
    // Overlong encoding, surrogate, stray continuation: one U+FFFD per maximal subpart / byte.
    CPPUNIT_ASSERT_EQUAL(kFffd + kFffd + "|" + kFffd + kFffd + kFffd + "|" + kFffd,
                         Capture({}, {"\xC0\x80|\xED\xA0\x80|\x80"}));
    // A truncated sequence followed by ASCII: one U+FFFD, then the ASCII byte.
    CPPUNIT_ASSERT_EQUAL("x" + kFffd + "y"s, Capture({}, {"x\xE2\x9C" "y"}));
    // Truncated at the very end of the output.
    CPPUNIT_ASSERT_EQUAL("end" + kFffd, Capture({}, {"end\xF0\x9F\x98"}));
    CPPUNIT_ASSERT(IsValidUtf8(Capture({}, {"\xF5\xF8\xFE\xFF\xC1\xBF\xF4\x90\x80\x80"})));
  }

  void Utf8SequenceSplitAcrossChunksIsKept() {
    std::string emoji = "\xF0\x9F\x98\x80";  // U+1F600
    for (std::size_t cut = 0; cut <= emoji.size(); ++cut)
      CPPUNIT_ASSERT_EQUAL("<" + emoji + ">",
                           Capture({}, {"<" + emoji.substr(0, cut), emoji.substr(cut) + ">"}));
  }

  void NonUtf8SecretIsMaskedBeforeRepair() {
    CPPUNIT_ASSERT_EQUAL("k=*** " + kFffd, Capture({"\xFF\xFEkey"}, {"k=\xFF\xFEkey \xFF"}));
  }

  void SmallOutputIsNotCapped() {
    std::string s(100, 'x');
    CPPUNIT_ASSERT_EQUAL(s, Capture({}, {s}, 100));
  }

  void CapKeepsHeadAndTailWithMarker() {
    std::string s;
    for (int i = 0; i < 100; ++i) s += static_cast<char>('a' + i % 26);
    std::string got = Capture({}, {s.substr(0, 7), s.substr(7, 50), s.substr(57)}, 20);
    CPPUNIT_ASSERT_EQUAL(s.substr(0, 10) + Marker(80) + s.substr(90), got);
  }

  void CapNeverCutsInsideUtf8Sequence() {
    // Mixed 1-, 2-, 3- and 4-byte characters; every limit and chunking must give valid UTF-8
    // that is a true prefix + marker + suffix of the input.
    std::string unit = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";  // a é € 😀 z
    std::string s;
    for (int i = 0; i < 20; ++i) s += unit;
    for (std::size_t limit = 2; limit <= 40; ++limit) {
      for (std::size_t chunk : {1u, 3u, 7u, 1000u}) {
        OutputCapture c({}, limit);
        for (std::size_t i = 0; i < s.size(); i += chunk) c.Append(std::string_view(s).substr(i, chunk));
        std::string got = c.Finish();
        std::string msg = "limit " + std::to_string(limit) + " chunk " + std::to_string(chunk);
        CPPUNIT_ASSERT_MESSAGE(msg, IsValidUtf8(got));
        auto at = got.find("\n[... ");
        CPPUNIT_ASSERT_MESSAGE(msg, at != std::string::npos);
        auto end = got.find(" ...]\n", at);
        std::string head = got.substr(0, at), tail = got.substr(end + 6);
        uint64_t omitted = std::stoull(got.substr(at + 6));
        CPPUNIT_ASSERT_MESSAGE(msg, head.size() + tail.size() <= limit);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, s.size(), head.size() + tail.size() + omitted);
        CPPUNIT_ASSERT_MESSAGE(msg, s.compare(0, head.size(), head) == 0);
        CPPUNIT_ASSERT_MESSAGE(msg, s.compare(s.size() - tail.size(), tail.size(), tail) == 0);
      }
    }
  }

  void TwentyMegabytesKeepOneMebibyte() {
    OutputCapture c({"SECRET"});
    std::string block(64 * 1024, 'b');
    block.replace(100, 6, "SECRET");
    const std::size_t blocks = 320;  // 20 MiB
    c.Append("HEAD-START ");
    for (std::size_t i = 0; i < blocks; ++i) c.Append(block);
    c.Append(" TAIL-END");
    std::string got = c.Finish();
    const std::size_t limit = OutputCapture::kDefaultLimit;
    uint64_t masked_total = 11 + blocks * (block.size() - 3) + 9;
    CPPUNIT_ASSERT_EQUAL(masked_total, c.total_bytes());
    CPPUNIT_ASSERT_EQUAL(limit + Marker(masked_total - limit).size(), got.size());
    CPPUNIT_ASSERT(got.compare(0, 11, "HEAD-START ") == 0);
    CPPUNIT_ASSERT(got.compare(got.size() - 9, 9, " TAIL-END") == 0);
    CPPUNIT_ASSERT(got.find(Marker(masked_total - limit)) == limit / 2);
    CPPUNIT_ASSERT(got.find("SECRET") == std::string::npos);
    CPPUNIT_ASSERT(got.find("***") != std::string::npos);
  }

  void LongAdversarialSecretStaysLinear() {
    // A naive matcher compares the 64 KiB secret at every position: ~2e11 steps here.
    std::string secret(64 * 1024, 'a');
    secret += 'b';
    OutputCapture c({secret});
    std::string chunk(64 * 1024, 'a');
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 32; ++i) c.Append(chunk);  // 2 MiB of 'a'
    c.Append("b!");
    std::string got = c.Finish();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(ms) + " ms", ms < 5000);
    // The tail of the output is exactly the secret: masked.
    CPPUNIT_ASSERT(got.size() >= 4);
    CPPUNIT_ASSERT_EQUAL("***!"s, got.substr(got.size() - 4));
  }

  void FinishTwiceAndAppendAfterFinishAreHarmless() {
    OutputCapture c;
    c.Append("one");
    CPPUNIT_ASSERT_EQUAL("one"s, c.Finish());
    c.Append("two");
    CPPUNIT_ASSERT_EQUAL(""s, c.Finish());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(OutputCaptureTest);

}  // namespace
}  // namespace kod::runner
