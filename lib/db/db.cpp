#include "lib/db/db.h"

#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <sstream>

#include "lib/core/log.h"

namespace kod::db {
namespace {

bool IsConnectionLost(int code) {
  // CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR, CR_SERVER_GONE_ERROR, CR_SERVER_LOST,
  // CR_SERVER_LOST_EXTENDED; 2030/1243 = statement no longer prepared (re-prepare).
  return code == 2002 || code == 2003 || code == 2006 || code == 2013 || code == 2055 ||
         code == 2030 || code == 1243 || code == 1927 /* connection killed */ || code == 0;
}

[[noreturn]] void Rethrow(const sql::SQLException& e) { throw SqlError(e.getErrorCode(), e.what()); }

}  // namespace

Options OptionsFromConfig(const Config& c) {
  Options o;
  o.host = c.db_host;
  o.port = c.db_port;
  o.socket = c.db_socket;
  o.user = c.db_user;
  o.password = c.db_password;
  o.name = c.db_name;
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

Stmt::Stmt(sql::PreparedStatement* ps) : ps_(ps) { ps_->clearParameters(); }
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
  try {
    return Rows(std::unique_ptr<sql::ResultSet>(ps_->executeQuery()));
  } catch (const sql::SQLException& e) {
    Rethrow(e);
  }
}
int Stmt::Exec() {
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
  opts["OPT_RECONNECT"] = false;  // we reconnect ourselves (platform.md §12.6)
  try {
    sql::mysql::MySQL_Driver* driver = sql::mysql::get_mysql_driver_instance();
    conn_.reset(driver->connect(opts));
    std::unique_ptr<sql::Statement> st(conn_->createStatement());
    st->execute("SET time_zone = '+00:00'");
    // Claims re-check state after taking row locks: they must see the latest committed rows.
    st->execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
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
  return Stmt(it->second.get());
}

void Session::ExecuteRaw(const std::string& sql) {
  EnsureConnected();
  try {
    std::unique_ptr<sql::Statement> st(conn_->createStatement());
    st->execute(sql);
  } catch (const sql::SQLException& e) {
    Rethrow(e);
  }
}

Status Session::Run(const std::function<Status()>& fn, bool transaction) {
  for (int attempt = 0;; ++attempt) {
    bool began = false;
    try {
      EnsureConnected();
      if (transaction) {
        conn_->setAutoCommit(false);
        began = true;
      }
      Status s = fn();
      if (began) {
        if (s.ok()) conn_->commit();
        else conn_->rollback();
        conn_->setAutoCommit(true);
      }
      return s;
    } catch (const std::exception& ex) {
      int code = 0;
      if (auto* se = dynamic_cast<const SqlError*>(&ex)) code = se->code;
      else if (auto* sqe = dynamic_cast<const sql::SQLException*>(&ex)) code = sqe->getErrorCode();
      else if (dynamic_cast<const sql::InvalidArgumentException*>(&ex)) code = -1;
      if (began && conn_) {
        try {
          conn_->rollback();
          conn_->setAutoCommit(true);
        } catch (...) {
          Reset();
        }
      }
      if (IsConnectionLost(code)) {
        Reset();
        if (attempt == 0) continue;  // reconnect, re-prepare and retry once
        log::Warn(std::string("database unreachable: ") + ex.what());
        return Unavailable();
      }
      log::Error(std::string("database error ") + std::to_string(code) + ": " + ex.what());
      return Internal("Internal error");
    }
  }
}

bool Session::Ping() {
  Status s = Run([&] {
    Rows r = Prepare("SELECT 1").Query();
    return r.Next() ? Status::Ok() : Internal("ping");
  });
  return s.ok();
}

}  // namespace kod::db
