// Applies the compiled-in SQL migrations (sql/*.sql) under a database lock.
#pragma once

#include "lib/core/status.h"
#include "lib/db/db.h"

namespace kod::db {

/// Brings the schema up to date: takes GET_LOCK('kod_migrations') so processes starting together
/// do not race, creates `schema_migrations` if needed, applies each missing version in order
/// and records it. Forward-only. Returns Unavailable if the database cannot be reached,
/// Internal (naming the migration) if a statement fails.
Status Migrate(Session& session);

/// Waits up to `wait_s` seconds for the database to answer, then Migrate(). For process start-up
/// (kod-fcgi, kod-runner). Returns a Status whose message is one line fit for stderr.
Status WaitAndMigrate(Session& session, int wait_s);

}  // namespace kod::db
