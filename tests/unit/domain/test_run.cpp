// Unit tests for lib/domain/run.h: every status and trigger has its one name, both ways.
#include "lib/domain/run.h"

#include <cppunit/extensions/HelperMacros.h>

#include <string>

namespace kod::domain {

class RunNamesTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RunNamesTest);
  CPPUNIT_TEST(StatusesRoundTripUnderTheirApiNames);
  CPPUNIT_TEST(TriggersRoundTripUnderTheirApiNames);
  CPPUNIT_TEST(UnknownNamesAreRefused);
  CPPUNIT_TEST(OnlyCompletedFailedAndCancelledAreFinished);
  CPPUNIT_TEST_SUITE_END();

 public:
  void StatusesRoundTripUnderTheirApiNames() {
    const std::pair<RunStatus, std::string> expected[] = {
        {RunStatus::Queued, "queued"},
        {RunStatus::Running, "running"},
        {RunStatus::Completed, "completed"},
        {RunStatus::Failed, "failed"},
        {RunStatus::Cancelled, "cancelled"},
    };
    for (const auto& [status, name] : expected) {
      CPPUNIT_ASSERT_EQUAL(name, std::string(RunStatusName(status)));
      CPPUNIT_ASSERT(ParseRunStatus(name) == status);
    }
  }

  void TriggersRoundTripUnderTheirApiNames() {
    CPPUNIT_ASSERT_EQUAL(std::string("api"), std::string(RunTriggerName(RunTrigger::Api)));
    CPPUNIT_ASSERT_EQUAL(std::string("push"), std::string(RunTriggerName(RunTrigger::Push)));
    CPPUNIT_ASSERT(ParseRunTrigger("api") == RunTrigger::Api);
    CPPUNIT_ASSERT(ParseRunTrigger("push") == RunTrigger::Push);
    CPPUNIT_ASSERT(ParseRunTrigger("rerun") == RunTrigger::Rerun);
    CPPUNIT_ASSERT_EQUAL(std::string("rerun"), std::string(RunTriggerName(RunTrigger::Rerun)));
  }

  void UnknownNamesAreRefused() {
    CPPUNIT_ASSERT(!ParseRunStatus("Queued"));  // exact, case-sensitive
    CPPUNIT_ASSERT(!ParseRunStatus(""));
    CPPUNIT_ASSERT(!ParseRunStatus("done"));
    CPPUNIT_ASSERT(!ParseRunTrigger("API"));
    CPPUNIT_ASSERT(!ParseRunTrigger("cron"));
  }

  void OnlyCompletedFailedAndCancelledAreFinished() {
    CPPUNIT_ASSERT(!IsFinished(RunStatus::Queued));
    CPPUNIT_ASSERT(!IsFinished(RunStatus::Running));
    CPPUNIT_ASSERT(IsFinished(RunStatus::Completed));
    CPPUNIT_ASSERT(IsFinished(RunStatus::Failed));
    CPPUNIT_ASSERT(IsFinished(RunStatus::Cancelled));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RunNamesTest);

}  // namespace kod::domain
