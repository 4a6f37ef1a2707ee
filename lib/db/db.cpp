#include "lib/db/db.h"

#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <algorithm>
#include <sstream>

#include "lib/core/clock.h"
#include "lib/core/log.h"

namespace kod::db {
namespace {

// What a failed attempt threw, as Run needs to decide.
enum class Kind { Lost, Busy, Sql, Other };

bool IsLostCode(int code) {
  // CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR, CR_SERVER_GONE_ERROR, CR_SERVER_LOST,
  // CR_SERVER_LOST_EXTENDED; 2030/1243 = statement no longer prepared (re-prepare); 1927 = killed.
  return code == 2002 || code == 2003 || code == 2006 || code == 2013 || code == 2055 || code == 2030 ||
         code == 1243 || code == 1927;
}

// Connector/C++ reports a connection object it already knows to be closed with an
// InvalidInstanceException (error code 0): that is a lost connection too. Its other code-0
// exceptions (a bad column index, an unimplemented method) are programming errors.
[[noreturn]] void Rethrow(const sql::SQLException& e) {
  int code = e.getErrorCode();
  if (code == 0 && dynamic_cast<const sql::InvalidInstanceException*>(&e)) code = 2006;
  throw SqlError(code, e.what());
}

Kind KindOf(int code) {
  if (IsLostCode(code)) return Kind::Lost;
  if (code == 1205 || code == 1213) return Kind::Busy;  // lock wait timeout, deadlock
  return Kind::Sql;
}

// Milliseconds under which a lost connection counts as quick (a stale connection fails at once;
// a frozen server only after a timeout, and then retrying would double the wait).
constexpr int64_t kQuickFailureMs = 500;

}  // namespace

// One attempt's failure, classified.
struct Session::Attempt {
  Kind kind = Kind::Other;
  int code = 0;
  std::string what;
  int64_t elapsed_ms = 0;
};

Options OptionsFromConfig(const Config& c) {
  Options o;
  o.host = c.db_host;
  o.port = c.db_port;
  o.socket = c.db_socket;
  o.user = c.db_user;
  o.password = c.db_password;
  o.name = c.db_name;
  o.connect_timeout_s = c.db_connect_timeout_s;
  o.io_timeout_s = c.db_timeout_s;
  return o;
}

Rows::Rows(std::unique_ptr<sql::ResultSet> rs) : rs_(std::move(rs)) {}
Rows::~Rows() = default;
Rows::Rows(Rows&&) noexcept = default;

bool Rows::Next() {
  try {
    return rs_->next();
  } catch (const sql::SQLException& e) {
    Rethrow(e);
  }
}
std::string Rows::String(int col) const { return rs_->getString(col); }
int64_t Rows::Int64(int col) const { return rs_->getInt64(col); }
bool Rows::IsNull(int col) const { return rs_->isNull(col); }
std::optional<int64_t> Rows::OptInt64(int col) const {
  if (rs_->isNull(col)) return std::nullopt;
  return rs_->getInt64(col);
}
std::optional<std::string> Rows::OptString(int col) const {
  if (rs_->isNull(col)) return std::nullopt;
  return std::string(rs_->getString(col));
}

Stmt::Stmt(sql::PreparedStatement* ps, Session* session, const std::string* sql)
    : ps_(ps), session_(session), sql_(sql) {
  ps_->clearParameters();
}
Stmt& Stmt::Bind(std::string_view v) {
  ps_->setString(idx_++, sql::SQLString(std::string(v)));
  return *this;
}
Stmt& Stmt::Bind(int64_t v) {
  ps_->setInt64(idx_++, v);
  return *this;
}
Stmt& Stmt::Bind(const std::optional<int64_t>& v) { return v ? Bind(*v) : BindNull(); }
Stmt& Stmt::Bind(const std::optional<std::string>& v) { return v ? Bind(std::string_view(*v)) : BindNull(); }
Stmt& Stmt::BindBlob(std::string_view bytes) {
  // setBlob keeps a pointer to the stream until execution; the statement executes before this
  // Stmt goes away, so a stream owned here would dangle. Binary-safe setString is enough for
  // VARBINARY/BLOB columns with Connector/C++ 1.1 (length-delimited, no NUL truncation).
  ps_->setString(idx_++, sql::SQLString(std::string(bytes)));
  return *this;
}
Stmt& Stmt::BindNull() {
  ps_->setNull(idx_++, sql::DataType::VARCHAR);
  return *this;
}
Rows Stmt::Query() {
  session_->BeforeStatement(*sql_, /*write=*/false);
  try {
    return Rows(std::unique_ptr<sql::ResultSet>(ps_->executeQuery()));
  } catch (const sql::SQLException& e) {
    Rethrow(e);
  }
}
int Stmt::Exec() {
  session_->BeforeStatement(*sql_, /*write=*/true);
  try {
    return ps_->executeUpdate();
  } catch (const sql::SQLException& e) {
    Rethrow(e);
  }
}

Session::Session(Options options) : options_(std::move(options)) {}
Session::~Session() { Reset(); }

void Session::Reset() {
  cache_.clear();
  conn_.reset();
}

void Session::EnsureConnected() {
  if (conn_) return;
  sql::ConnectOptionsMap opts;
  if (!options_.socket.empty()) {
    opts["hostName"] = sql::SQLString("localhost");
    opts["socket"] = sql::SQLString(options_.socket);
  } else {
    opts["hostName"] = sql::SQLString(options_.host);
    opts["port"] = options_.port;
  }
  opts["userName"] = sql::SQLString(options_.user);
  opts["password"] = sql::SQLString(options_.password);
  opts["schema"] = sql::SQLString(options_.name);
  opts["OPT_CONNECT_TIMEOUT"] = options_.connect_timeout_s;
  opts["OPT_READ_TIMEOUT"] = options_.io_timeout_s;
  opts["OPT_WRITE_TIMEOUT"] = options_.io_timeout_s;
  opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  opts["OPT_RECONNECT"] = false;  // Run reconnects itself, and knows when a retry is safe
  try {
    sql::mysql::MySQL_Driver* driver = sql::mysql::get_mysql_driver_instance();
    conn_.reset(driver->connect(opts));
    std::unique_ptr<sql::Statement> st(conn_->createStatement());
    st->execute("SET time_zone = '+00:00'");
    // Claims re-check state after taking row locks: they must see the latest committed rows.
    st->execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    // A row lock wait ends with 1205 from the server before the client's read timeout would
    // cut the connection.
    st->execute("SET SESSION innodb_lock_wait_timeout = " + std::to_string(std::max(1, options_.io_timeout_s - 1)));
  } catch (const sql::SQLException& e) {
    conn_.reset();
    Rethrow(e);
  }
}

Stmt Session::Prepare(const std::string& sql) {
  EnsureConnected();
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    try {
      it = cache_.emplace(sql, std::unique_ptr<sql::PreparedStatement>(conn_->prepareStatement(sql))).first;
    } catch (const sql::SQLException& e) {
      Rethrow(e);
    }
  }
  return Stmt(it->second.get(), this, &it->first);
}

void Session::ExecuteRaw(const std::string& sql) {
  EnsureConnected();
  raw_ = true;
  if (hook_) hook_(sql);
  try {
    std::unique_ptr<sql::Statement> st(conn_->createStatement());
    st->execute(sql);
  } catch (const sql::SQLException& e) {
    Rethrow(e);
  }
}

void Session::BeforeStatement(const std::string& sql, bool write) {
  if (write) wrote_ = true;
  if (hook_) hook_(sql);
}

Status Session::Run(const std::function<Status()>& fn, bool transaction) {
  outcome_unknown_ = false;
  if (MonotonicMs() < backoff_until_ms_) return Unavailable();
  for (int attempt = 0;; ++attempt) {
    const int64_t started = MonotonicMs();
    wrote_ = raw_ = committing_ = false;
    Attempt failure;
    try {
      return RunOnce(fn, transaction);
    } catch (const SqlError& e) {
      failure.kind = KindOf(e.code);
      failure.code = e.code;
      failure.what = e.what();
    } catch (const sql::SQLException& e) {
      try {
        Rethrow(e);
      } catch (const SqlError& mapped) {
        failure.kind = KindOf(mapped.code);
        failure.code = mapped.code;
        failure.what = mapped.what();
      }
    } catch (const std::exception& e) {
      failure.what = e.what();
    } catch (...) {
      failure.what = "an exception that is not a std::exception";
    }
    failure.elapsed_ms = MonotonicMs() - started;
    Status s = Failed(failure, transaction, attempt == 0);
    if (s.ok()) continue;  // Failed() decided to retry
    return s;
  }
}

// One try: connect if needed, BEGIN when asked, fn, COMMIT or ROLLBACK. Throws what fn or the
// connection throws.
Status Session::RunOnce(const std::function<Status()>& fn, bool transaction) {
  EnsureConnected();
  if (!transaction) return fn();
  Execute("START TRANSACTION");
  in_transaction_ = true;
  Status s = fn();
  return Commit(s);
}

// COMMIT (fn succeeded) or ROLLBACK, as statements: Connector/C++ 1.1's commit() and rollback()
// ignore the server's answer, so a COMMIT on a dead connection looked like a success.
Status Session::Commit(const Status& s) {
  if (s.ok()) {
    if (hook_) hook_("COMMIT");
    committing_ = true;
    Execute("COMMIT");
    committing_ = false;
  } else {
    Execute("ROLLBACK");
  }
  in_transaction_ = false;
  return s;
}

// After a failed attempt: roll back what is open (or drop a connection that cannot).
void Session::AbandonTransaction() {
  if (!in_transaction_) return;
  in_transaction_ = false;
  if (!conn_) return;
  try {
    Execute("ROLLBACK");
  } catch (...) {
    Reset();
  }
}

void Session::Execute(const char* sql) {
  try {
    std::unique_ptr<sql::Statement> st(conn_->createStatement());
    st->execute(sql);
  } catch (const sql::SQLException& e) {
    Rethrow(e);
  }
}

// Decides what a failed attempt means: Ok to retry, else the Status to answer.
Status Session::Failed(const Attempt& a, bool transaction, bool first) {
  const bool unknown = committing_ || raw_ || (!transaction && wrote_);
  committing_ = false;
  if (a.kind == Kind::Lost) {
    in_transaction_ = false;
    Reset();  // the server rolled back whatever was open when the connection went
    const bool quick = a.elapsed_ms < kQuickFailureMs;
    if (first && quick && !unknown) return Status::Ok();  // reconnect, re-prepare and retry once
    outcome_unknown_ = unknown;
    if (!quick) backoff_until_ms_ = MonotonicMs() + kBackoffMs;
    log::Warn("database unreachable (" + std::to_string(a.code) + " after " + std::to_string(a.elapsed_ms) +
              " ms" + (unknown ? ", outcome of the last write unknown" : "") + "): " + a.what);
    return Unavailable();
  }
  AbandonTransaction();
  if (a.kind == Kind::Busy) {
    log::Warn("database busy (" + std::to_string(a.code) + "): " + a.what);
    return Unavailable("database busy, try again");
  }
  if (a.kind == Kind::Sql) log::Error("database error " + std::to_string(a.code) + ": " + a.what);
  else log::Error("unexpected exception in a database call: " + a.what);
  return Internal("Internal error");
}

bool Session::Ping() {
  Status s = Run([&] {
    Rows r = Prepare("SELECT 1").Query();
    return r.Next() ? Status::Ok() : Internal("ping");
  });
  return s.ok();
}

}  // namespace kod::db
