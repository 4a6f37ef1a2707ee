// Shared fixture of the store tests: a real MariaDB (tests/store/with-mariadb.sh exports where),
// migrated once, with every table emptied before each test, and a temp repos_dir.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "lib/cache/cache.h"
#include "lib/core/config.h"
#include "lib/db/db.h"
#include "lib/db/migrate.h"
#include "lib/service/env.h"

namespace kod::test {

inline db::Options StoreDbOptions() {
  db::Options o;
  auto env = [](const char* k, const char* d) {
    const char* v = std::getenv(k);
    return std::string(v ? v : d);
  };
  o.socket = env("KOD_DB_SOCKET", "");
  o.host = env("KOD_DB_HOST", "127.0.0.1");
  o.port = std::atoi(env("KOD_DB_PORT", "3306").c_str());
  o.user = env("KOD_DB_USER", "kod_test");
  o.password = env("KOD_DB_PASSWORD", "");
  o.name = env("KOD_DB_NAME", "kod_test");
  return o;
}

/// A database session on a migrated, emptied schema, and a Config whose repos_dir is a fresh
/// temp dir. Not a CppUnit fixture itself: tests own one as a member.
struct StoreWorld {
  Config config;
  db::Session db{StoreDbOptions()};
  service::Env env{config, db, nullptr};

  StoreWorld() {
    char tmpl[] = "/tmp/kod-store-repos-XXXXXX";
    config.repos_dir = mkdtemp(tmpl);
    config.wake_dir = config.repos_dir + "/wake";
    Status s = db::Migrate(db);
    if (!s.ok()) throw std::runtime_error("migrate: " + s.message);
    for (const char* t : {"jobs", "workflow_steps", "workflow_runs", "secrets", "collaborators", "repos", "tokens",
                          "secret_key_check"})
      db.ExecuteRaw(std::string("DELETE FROM ") + t);
    // The rows went behind the caches' back (when a test turned them on).
    cache::Changed(cache::Scope::kTokens);
    cache::Changed(cache::Scope::kRepos);
  }
  ~StoreWorld() { std::system(("rm -rf " + config.repos_dir).c_str()); }
};

}  // namespace kod::test
