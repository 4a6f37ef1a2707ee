// db::Session::Run's retry contract (lib/db/db.h) against a real MariaDB: what is retried, what is
// never run twice, and how long a frozen server may hold a caller (issue 9, defects 2 and 11).
#include <cppunit/extensions/HelperMacros.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "lib/core/clock.h"
#include "tests/store/store_fixture.h"

using namespace kod;

namespace {

int64_t ConnectionId(db::Session& s) {
  db::Rows r = s.Prepare("SELECT CONNECTION_ID()").Query();
  r.Next();
  return r.Int64(1);
}

// Kills connection `id` from a session of its own, as a server restart or an admin would.
void Kill(int64_t id) {
  db::Session killer(test::StoreDbOptions());
  killer.ExecuteRaw("KILL " + std::to_string(id));
}

int64_t ProbeRows(db::Session& s) {
  int64_t n = -1;
  Status st = s.Run([&] {
    db::Rows r = s.Prepare("SELECT COUNT(*) FROM session_probe").Query();
    n = r.Next() ? r.Int64(1) : -1;
    return Status::Ok();
  });
  CPPUNIT_ASSERT_MESSAGE(st.message, st.ok());
  return n;
}

// The test MariaDB's pid (tests/store/with-mariadb.sh keeps it in <dir>/mysqld.pid).
pid_t MariaDbPid() {
  const char* dir = std::getenv("KOD_TEST_MARIADB_DIR");
  if (dir == nullptr) return 0;
  std::ifstream in(std::string(dir) + "/mysqld.pid");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

// True when every thread of `pid` is stopped (SIGSTOP reaches each thread on its own).
bool AllThreadsStopped(pid_t pid) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'T') return false;
  }
  return !ec;
}

// SIGSTOPs the server for its lifetime (SIGCONT on destruction, whatever the test did).
struct Frozen {
  pid_t pid;
  explicit Frozen(pid_t p) : pid(p) {
    kill(pid, SIGSTOP);
    for (int i = 0; i < 200 && !AllThreadsStopped(pid); ++i) usleep(10'000);
  }
  ~Frozen() { kill(pid, SIGCONT); }
};

}  // namespace

class SessionTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SessionTest);
  CPPUNIT_TEST(NonSqlExceptionIsInternalAndRunsOnce);
  CPPUNIT_TEST(ProgrammingErrorOfTheConnectorIsNotALostConnection);
  CPPUNIT_TEST(StaleConnectionIsReopenedAndRetried);
  CPPUNIT_TEST(WriteOutsideATransactionIsNeverRepeated);
  CPPUNIT_TEST(TransactionLostBeforeCommitIsRetriedOnce);
  CPPUNIT_TEST(ConnectionLostDuringCommitIsUnknownAndNotRepeated);
  CPPUNIT_TEST(FrozenServerAnswersUnavailableWithinTheTimeoutAndRecovers);
  CPPUNIT_TEST_SUITE_END();

  std::unique_ptr<test::StoreWorld> w_;

 public:
  void setUp() override {
    w_ = std::make_unique<test::StoreWorld>();
    w_->db.ExecuteRaw("CREATE TABLE IF NOT EXISTS session_probe (id INT AUTO_INCREMENT PRIMARY KEY, v INT)");
    w_->db.ExecuteRaw("DELETE FROM session_probe");
  }
  void tearDown() override { w_.reset(); }

  void NonSqlExceptionIsInternalAndRunsOnce() {
    int calls = 0;
    Status s = w_->db.Run([&]() -> Status {
      ++calls;
      throw std::out_of_range("not a database problem");
    });
    CPPUNIT_ASSERT(s.code == Code::Internal);
    CPPUNIT_ASSERT_EQUAL(1, calls);
    CPPUNIT_ASSERT(w_->db.Ping());  // the connection is still good: no back-off, no reconnect
  }

  void ProgrammingErrorOfTheConnectorIsNotALostConnection() {
    int calls = 0;
    Status s = w_->db.Run([&]() -> Status {
      ++calls;
      db::Rows r = w_->db.Prepare("SELECT 1").Query();
      r.Next();
      (void)r.String(7);  // no such column: Connector/C++ throws with error code 0
      return Status::Ok();
    });
    CPPUNIT_ASSERT(s.code == Code::Internal);
    CPPUNIT_ASSERT_EQUAL(1, calls);
  }

  void StaleConnectionIsReopenedAndRetried() {
    int64_t old_id = 0;
    CPPUNIT_ASSERT(w_->db.Run([&] {
      old_id = ConnectionId(w_->db);
      return Status::Ok();
    }).ok());
    Kill(old_id);
    int calls = 0;
    int64_t new_id = 0;
    Status s = w_->db.Run([&] {
      ++calls;
      new_id = ConnectionId(w_->db);
      return Status::Ok();
    });
    CPPUNIT_ASSERT_MESSAGE(s.message, s.ok());
    CPPUNIT_ASSERT_EQUAL(2, calls);
    CPPUNIT_ASSERT(new_id != old_id);
  }

  void WriteOutsideATransactionIsNeverRepeated() {
    int calls = 0;
    Status s = w_->db.Run([&] {
      ++calls;
      w_->db.Prepare("INSERT INTO session_probe (v) VALUES (1)").Exec();  // autocommit: durable now
      if (calls == 1) Kill(ConnectionId(w_->db));
      w_->db.Prepare("SELECT 1").Query();
      return Status::Ok();
    });
    CPPUNIT_ASSERT(s.code == Code::Unavailable);
    CPPUNIT_ASSERT(w_->db.OutcomeUnknown());
    CPPUNIT_ASSERT_EQUAL(1, calls);
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, ProbeRows(w_->db));
  }

  void TransactionLostBeforeCommitIsRetriedOnce() {
    int calls = 0;
    Status s = w_->db.Run([&] {
      ++calls;
      w_->db.Prepare("INSERT INTO session_probe (v) VALUES (1)").Exec();
      if (calls == 1) Kill(ConnectionId(w_->db));  // the server rolls the insert back
      w_->db.Prepare("SELECT 1").Query();
      return Status::Ok();
    }, /*transaction=*/true);
    CPPUNIT_ASSERT_MESSAGE(s.message, s.ok());
    CPPUNIT_ASSERT_EQUAL(2, calls);
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, ProbeRows(w_->db));
  }

  void ConnectionLostDuringCommitIsUnknownAndNotRepeated() {
    int calls = 0;
    int64_t id = 0;
    w_->db.SetStatementHookForTest([&](const std::string& sql) {
      if (sql == "COMMIT" && calls == 1) Kill(id);
    });
    Status s = w_->db.Run([&] {
      ++calls;
      id = ConnectionId(w_->db);
      w_->db.Prepare("INSERT INTO session_probe (v) VALUES (1)").Exec();
      return Status::Ok();
    }, /*transaction=*/true);
    w_->db.SetStatementHookForTest(nullptr);
    CPPUNIT_ASSERT_MESSAGE(std::to_string(int(s.code)) + " " + s.message + " calls " + std::to_string(calls), s.code == Code::Unavailable);
    CPPUNIT_ASSERT(w_->db.OutcomeUnknown());
    CPPUNIT_ASSERT_EQUAL(1, calls);
    CPPUNIT_ASSERT_EQUAL(int64_t{0}, ProbeRows(w_->db));  // killed before COMMIT arrived
  }

  void FrozenServerAnswersUnavailableWithinTheTimeoutAndRecovers() {
    const pid_t pid = MariaDbPid();
    CPPUNIT_ASSERT_MESSAGE("no MariaDB pid (KOD_TEST_MARIADB_DIR)", pid > 0);
    db::Options o = test::StoreDbOptions();
    o.connect_timeout_s = 1;
    o.io_timeout_s = 1;
    db::Session s(o);
    CPPUNIT_ASSERT(s.Ping());  // connected before the freeze
    {
      Frozen frozen(pid);
      // An open connection: the statement's read times out (1 s); no retry (it was slow).
      int64_t t0 = MonotonicMs();
      CPPUNIT_ASSERT(!s.Ping());
      int64_t took = MonotonicMs() - t0;
      CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(took) + " ms", took >= 900 && took < 1900);
      // Within the back-off: at once, without touching the server.
      t0 = MonotonicMs();
      CPPUNIT_ASSERT(!s.Ping());
      CPPUNIT_ASSERT(MonotonicMs() - t0 < 100);
      // A new connection to the frozen server: the greeting never comes (connect timeout, 1 s).
      db::Session fresh(o);
      t0 = MonotonicMs();
      CPPUNIT_ASSERT(!fresh.Ping());
      took = MonotonicMs() - t0;
      CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(took) + " ms", took < 1900);
    }
    // Resumed: after the back-off the same session reconnects by itself.
    int64_t deadline = MonotonicMs() + 10'000;
    bool back = false;
    while (!back && MonotonicMs() < deadline) {
      back = s.Ping();
      if (!back) usleep(100'000);
    }
    CPPUNIT_ASSERT(back);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SessionTest);
