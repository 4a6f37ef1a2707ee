#include "lib/db/migrate.h"

#include <algorithm>
#include <set>
#include <thread>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/db/migrations.h"

namespace kod::db {
namespace {

constexpr int kMigrationTimeoutS = 600;

// Statements in a migration file are separated by ";" at the end of a line.
std::vector<std::string> SplitStatements(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.rfind("--", 0) == 0) continue;
    cur += line + "\n";
    size_t end = line.find_last_not_of(" \t\r");
    if (end != std::string::npos && line[end] == ';') {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (cur.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(cur);
  return out;
}

}  // namespace

Status Migrate(Session& caller) {
  // Its own connection: an ALTER of a big table may take minutes, far beyond a request's timeout.
  Options options = caller.options();
  options.io_timeout_s = std::max(options.io_timeout_s, kMigrationTimeoutS);
  Session session(options);
  return session.Run([&]() -> Status {
    Rows lock = session.Prepare("SELECT GET_LOCK('kod_migrations', 60)").Query();
    if (!lock.Next() || lock.IsNull(1) || lock.Int64(1) != 1) return Internal("could not take the migration lock");
    struct Unlock {
      Session& s;
      ~Unlock() {
        try {
          s.Prepare("SELECT RELEASE_LOCK('kod_migrations')").Query();
        } catch (...) {
        }
      }
    } unlock{session};
    session.ExecuteRaw(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, "
        "name VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL) ENGINE=InnoDB");
    std::set<int64_t> applied;
    Rows rows = session.Prepare("SELECT version FROM schema_migrations").Query();
    while (rows.Next()) applied.insert(rows.Int64(1));
    for (const Migration& m : Migrations()) {
      if (applied.count(m.version)) continue;
      log::Info(std::string("applying migration ") + m.name);
      for (const std::string& stmt : SplitStatements(m.sql)) {
        try {
          session.ExecuteRaw(stmt);
        } catch (const SqlError& e) {
          if (e.code == 2006 || e.code == 2013 || e.code == 2002) throw;
          return Internal(std::string("migration ") + m.name + " failed: " + e.what());
        }
      }
      session.Prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
          .Bind(m.version).Bind(m.name).Bind(NowMs()).Exec();
    }
    return Status::Ok();
  });
}

Status WaitAndMigrate(Session& session, int wait_s) {
  const int64_t deadline = MonotonicMs() + wait_s * 1000L;
  while (!session.Ping()) {
    if (MonotonicMs() > deadline) {
      const Options& o = session.options();
      return Unavailable("database unreachable at " +
                         (o.socket.empty() ? o.host + ":" + std::to_string(o.port) : o.socket));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  Status s = Migrate(session);
  if (!s.ok()) s.message = "schema migration failed: " + s.message;
  return s;
}

}  // namespace kod::db
