// MariaDB access: one connection per process, prepared statements, transactions, reconnect-and-retry.
// The only module (with lib/store) that knows SQL exists; only lib/db includes Connector/C++ headers.
//
// The retry contract (Session::Run):
//  - fn may run twice: after a connection lost *before anything could have been committed*, Run
//    reconnects and runs fn once more. So fn only reads and writes through the session: files,
//    directories, processes, caches and wake-ups happen outside fn — before Run (and undone when
//    it fails for certain), or after it returned Ok. A step that has to be inside is idempotent.
//  - Nothing is retried once its outcome is unknown: the connection lost while COMMIT was in
//    flight, or (without a transaction) while a write statement was. Run then answers Unavailable
//    and OutcomeUnknown() is true; the caller reads back what it needs to know.
//  - Only a lost connection is retried. Any other SQL error, and any other exception thrown by fn
//    (std::bad_alloc, std::out_of_range, ...), rolls back and answers Internal, once, logged.
//  - A frozen or unreachable server never holds the caller longer than the timeouts of Options;
//    after a slow failure Run answers Unavailable at once for kBackoffMs (no pile-up of callers
//    each waiting for their own timeout), then tries the server again.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lib/core/config.h"
#include "lib/core/status.h"

namespace sql {
class Connection;
class PreparedStatement;
class ResultSet;
}  // namespace sql

namespace kod::db {

/// Where and how to connect. `socket` (a unix socket path) wins over host/port when set.
struct Options {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string socket;
  std::string user = "kod";
  std::string password;
  std::string name = "kod";
  int connect_timeout_s = 2;  // TCP/socket connect plus the server's greeting (a frozen server)
  int io_timeout_s = 3;       // each read and each write of a statement; a frozen server → 503
};

/// The database.* settings of a Config (docs/configuration.md).
Options OptionsFromConfig(const Config& config);

/// A forward-only cursor over a query's rows. Column indexes are 1-based, as in JDBC.
class Rows {
 public:
  explicit Rows(std::unique_ptr<sql::ResultSet> rs);
  ~Rows();
  Rows(Rows&&) noexcept;
  bool Next();
  std::string String(int col) const;
  int64_t Int64(int col) const;
  bool IsNull(int col) const;
  std::optional<int64_t> OptInt64(int col) const;
  std::optional<std::string> OptString(int col) const;

 private:
  std::unique_ptr<sql::ResultSet> rs_;
};

class Session;

/// A prepared statement with positional binding: Bind(a).Bind(b).Query() / .Exec().
/// Owned by the Session's statement cache; valid until the Session reconnects.
class Stmt {
 public:
  Stmt(sql::PreparedStatement* ps, Session* session, const std::string* sql);
  Stmt& Bind(std::string_view v);
  Stmt& Bind(const char* v) { return Bind(std::string_view(v)); }
  Stmt& Bind(const std::string& v) { return Bind(std::string_view(v)); }
  Stmt& Bind(int64_t v);
  Stmt& Bind(int v) { return Bind(static_cast<int64_t>(v)); }
  Stmt& Bind(bool v) { return Bind(static_cast<int64_t>(v ? 1 : 0)); }
  Stmt& Bind(const std::optional<int64_t>& v);
  Stmt& Bind(const std::optional<std::string>& v);
  Stmt& BindBlob(std::string_view bytes);
  Stmt& BindNull();
  Rows Query();
  /// Executes an INSERT/UPDATE/DELETE; returns the number of rows affected. A write: outside a
  /// transaction, losing the connection during it makes the outcome unknown (no retry).
  int Exec();

 private:
  sql::PreparedStatement* ps_;
  Session* session_;
  const std::string* sql_;
  unsigned idx_ = 1;
};

/// Thrown by Stmt/Session on SQL errors; `code` is the server/client error number
/// (1062 duplicate key, 2006/2013 connection lost, ...). Stores catch the codes they expect;
/// Session::Run turns the rest into a Status.
struct SqlError : std::runtime_error {
  SqlError(int code, const std::string& what) : std::runtime_error(what), code(code) {}
  int code;
};

inline constexpr int kDuplicateKey = 1062;
inline constexpr int kAccessDenied = 1045;

/// How long Run answers Unavailable without trying after a slow failure (a timeout).
inline constexpr int64_t kBackoffMs = 1000;

/// One process's connection. Connect lazily after fork (never share across processes).
/// Not thread-safe: one Session per thread.
class Session {
 public:
  explicit Session(Options options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// A prepared statement for `sql` (cached per SQL text). Throws SqlError.
  Stmt Prepare(const std::string& sql);

  /// Runs fn() against the connection; with `transaction`, inside BEGIN…COMMIT (rolled back if fn
  /// returns a non-Ok Status or throws). The retry contract is at the top of this file: a lost
  /// connection (2002/2003/2006/2013/2055, or a statement no longer prepared) is retried once when
  /// nothing can have been committed and the failure was quick; otherwise Unavailable. A lock
  /// wait timeout or deadlock (1205/1213) is Unavailable ("database busy"), not retried. Any other
  /// SQL error or exception: Internal (logged). fn must touch nothing but the session.
  Status Run(const std::function<Status()>& fn, bool transaction = false);

  /// True when the last Run answered Unavailable with its writes possibly committed (the
  /// connection was lost during COMMIT, or during a write outside a transaction).
  bool OutcomeUnknown() const { return outcome_unknown_; }

  /// Same as Run() for a function producing a value.
  template <class T>
  Result<T> Get(const std::function<Result<T>()>& fn, bool transaction = false) {
    std::optional<Result<T>> out;
    Status s = Run([&]() -> Status {
      out.emplace(fn());
      return out->ok() ? Status::Ok() : out->status();
    }, transaction);
    if (!s.ok()) return s;
    return std::move(*out);
  }

  /// True when a trivial query succeeds (reconnecting if needed). Never throws.
  bool Ping();

  /// Executes a statement without parameters (schema migrations only). Throws SqlError.
  void ExecuteRaw(const std::string& sql);

  /// Drops the connection (the next call reconnects). Used after fork and by tests.
  void Reset();

  const Options& options() const { return options_; }

  /// Test seam: called with each statement's SQL (and "COMMIT") just before it is sent.
  void SetStatementHookForTest(std::function<void(const std::string&)> hook) { hook_ = std::move(hook); }

 private:
  friend class Stmt;
  struct Attempt;
  void EnsureConnected();
  Status RunOnce(const std::function<Status()>& fn, bool transaction);
  Status Commit(const Status& s);
  void AbandonTransaction();
  void Execute(const char* sql);
  Status Failed(const Attempt& a, bool transaction, bool first);
  void BeforeStatement(const std::string& sql, bool write);

  Options options_;
  std::unique_ptr<sql::Connection> conn_;
  std::map<std::string, std::unique_ptr<sql::PreparedStatement>> cache_;
  std::function<void(const std::string&)> hook_;
  bool in_transaction_ = false;
  bool wrote_ = false;           // a write statement was sent in this attempt
  bool raw_ = false;             // a raw statement (DDL commits implicitly) was sent
  bool committing_ = false;      // COMMIT was sent and not yet answered
  bool outcome_unknown_ = false;
  int64_t backoff_until_ms_ = 0;
};

}  // namespace kod::db
