// The run log's layout and the bounds on outputs in JSON answers (issue 9 defect 5, issue 13).
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "lib/domain/run_output.h"

using namespace std::string_literals;

namespace kod::domain {
namespace {

class RunOutputTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RunOutputTest);
  CPPUNIT_TEST(LogIntroducesEachStepOnItsOwnLine);
  CPPUNIT_TEST(LogOffsetsStayValidAsTheRunGoesOn);
  CPPUNIT_TEST(CapForTotalShares);
  CPPUNIT_TEST(EscapedSizeCountsControlBytesAsTheirEscapes);
  CPPUNIT_TEST(JsonBoundKeepsEndsAndWholeSequences);
  CPPUNIT_TEST(TailsAreCutAtSequenceStarts);
  CPPUNIT_TEST_SUITE_END();

 public:
  void LogIntroducesEachStepOnItsOwnLine() {
    auto pieces = LayOutLog({{0, "build", 6, true}, {1, "test", 3, false}, {2, "skipped", 0, false},
                             {3, "last", 2, true}});
    std::vector<std::string> headers;
    for (const LogPiece& p : pieces)
      if (p.header) headers.push_back(p.text);
    CPPUNIT_ASSERT_EQUAL(size_t{4}, headers.size());
    CPPUNIT_ASSERT_EQUAL("::step build\n"s, headers[0]);
    CPPUNIT_ASSERT_EQUAL("::step test\n"s, headers[1]);
    CPPUNIT_ASSERT_EQUAL("\n::step skipped\n"s, headers[2]);  // "test" ended without a newline
    CPPUNIT_ASSERT_EQUAL("::step last\n"s, headers[3]);
    CPPUNIT_ASSERT_EQUAL(uint64_t{13 + 6 + 12 + 3 + 16 + 12 + 2}, LogSize(pieces));
    uint64_t at = 0;
    for (const LogPiece& p : pieces) {
      CPPUNIT_ASSERT_EQUAL(at, p.start);
      at += p.length;
    }
  }

  // While a step runs its output grows and later steps are added: the earlier layout is a
  // prefix of the later one.
  void LogOffsetsStayValidAsTheRunGoesOn() {
    auto before = LayOutLog({{0, "a", 5, true}, {1, "b", 10, false}});
    auto after = LayOutLog({{0, "a", 5, true}, {1, "b", 25, false}, {2, "c", 7, true}});
    for (size_t i = 0; i < before.size(); ++i) {
      CPPUNIT_ASSERT_EQUAL(before[i].start, after[i].start);
      CPPUNIT_ASSERT_EQUAL(before[i].text, after[i].text);
    }
    CPPUNIT_ASSERT(LogSize(after) > LogSize(before));
  }

  void CapForTotalShares() {
    CPPUNIT_ASSERT_EQUAL(uint64_t{30}, CapForTotal({10, 20, 30}, 100));  // all fit
    CPPUNIT_ASSERT_EQUAL(uint64_t{35}, CapForTotal({10, 100, 100}, 80));
    CPPUNIT_ASSERT_EQUAL(uint64_t{3}, CapForTotal({100, 100, 100}, 10));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, CapForTotal({}, 10));
  }

  void EscapedSizeCountsControlBytesAsTheirEscapes() {
    CPPUNIT_ASSERT_EQUAL(uint64_t{3}, JsonEscapedSize("abc"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{6}, JsonEscapedSize(std::string(1, '\0')));
    CPPUNIT_ASSERT_EQUAL(uint64_t{2 + 2 + 2 + 6}, JsonEscapedSize("\n\"\\\x01"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, JsonEscapedSize("\xc3\xbc"));
  }

  // 30 steps of 1 MiB of NUL bytes (6 MiB escaped each) fit in 8 MiB, each keeping its end.
  void JsonBoundKeepsEndsAndWholeSequences() {
    std::vector<StepResult> steps(30);
    for (StepResult& s : steps) s.output = std::string(1 << 20, '\0') + "end\xc3\xbc";
    const uint64_t budget = 8 << 20;
    BoundOutputsForJson(steps, budget);
    uint64_t total = 0;
    for (const StepResult& s : steps) {
      total += JsonEscapedSize(s.output);
      CPPUNIT_ASSERT(s.output_truncated);
      CPPUNIT_ASSERT(s.output.size() >= 5 && s.output.substr(s.output.size() - 5) == "end\xc3\xbc");
    }
    CPPUNIT_ASSERT(total <= budget);
    CPPUNIT_ASSERT(total > budget / 2);  // the budget is used, not thrown away
    std::vector<StepResult> small(2);
    small[0].output = "fits";
    BoundOutputsForJson(small, budget);
    CPPUNIT_ASSERT(!small[0].output_truncated);
    CPPUNIT_ASSERT_EQUAL("fits"s, small[0].output);
  }

  void TailsAreCutAtSequenceStarts() {
    std::vector<StepResult> steps(2);
    steps[0].output = "x\xe2\x9c\x93yz";  // a 3-byte sequence cut by a 4-byte tail
    steps[1].output = "abc";
    KeepOutputTails(steps, 4);
    CPPUNIT_ASSERT_EQUAL("yz"s, steps[0].output);
    CPPUNIT_ASSERT(steps[0].output_truncated);
    CPPUNIT_ASSERT_EQUAL("abc"s, steps[1].output);
    CPPUNIT_ASSERT(!steps[1].output_truncated);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RunOutputTest);

}  // namespace
}  // namespace kod::domain
