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

}  // namespace kod::db
