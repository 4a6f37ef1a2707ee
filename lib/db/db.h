// MariaDB access: one connection per process, prepared statements, transactions, reconnect-and-retry.
// The only module (with lib/store) that knows SQL exists; only lib/db includes Connector/C++ headers.
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
  int connect_timeout_s = 2;   // so a down server gives a quick 503, never a hang
  int io_timeout_s = 60;
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

/// A prepared statement with positional binding: Bind(a).Bind(b).Query() / .Exec().
/// Owned by the Session's statement cache; valid until the Session reconnects.
class Stmt {
 public:
  explicit Stmt(sql::PreparedStatement* ps);
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
  /// Executes an INSERT/UPDATE/DELETE; returns the number of rows affected.
  int Exec();

 private:
  sql::PreparedStatement* ps_;
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
  /// returns a non-Ok Status or throws). On a lost connection (2002/2003/2006/2013/2055) it reconnects,
  /// re-prepares and retries fn once; if the server is still unreachable: Unavailable. Any other
  /// SqlError becomes Internal (logged). fn must be safe to run twice (no side effects outside SQL).
  Status Run(const std::function<Status()>& fn, bool transaction = false);

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

 private:
  void EnsureConnected();
  Options options_;
  std::unique_ptr<sql::Connection> conn_;
  std::map<std::string, std::unique_ptr<sql::PreparedStatement>> cache_;
};

}  // namespace kod::db
