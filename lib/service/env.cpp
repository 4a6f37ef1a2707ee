#include "lib/service/env.h"

#include "lib/cache/cache.h"
#include "lib/db/db.h"
#include "lib/db/migrate.h"

namespace kod::service {

OwnedEnv::OwnedEnv(const Config& config, const crypto::SecretKey* key)
    : session_(std::make_unique<db::Session>(db::OptionsFromConfig(config))), env_{config, *session_, key} {}

OwnedEnv::~OwnedEnv() = default;

bool DatabaseReachable(Env& env) {
  static cache::Timed<bool> checked(cache::kDatabaseHealth);
  if (const bool* reachable = checked.Get()) return *reachable;
  const bool reachable = env.db.Ping();
  checked.Put(reachable);
  return reachable;
}

Status PrepareDatabase(Env& env, int wait_s) { return db::WaitAndMigrate(env.db, wait_s); }

}  // namespace kod::service
