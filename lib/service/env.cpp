#include "lib/service/env.h"

#include "lib/db/db.h"
#include "lib/db/migrate.h"

namespace kod::service {

OwnedEnv::OwnedEnv(const Config& config, const crypto::SecretKey* key)
    : session_(std::make_unique<db::Session>(db::OptionsFromConfig(config))), env_{config, *session_, key} {}

OwnedEnv::~OwnedEnv() = default;

bool DatabaseReachable(Env& env) { return env.db.Ping(); }

Status PrepareDatabase(Env& env, int wait_s) { return db::WaitAndMigrate(env.db, wait_s); }

}  // namespace kod::service
