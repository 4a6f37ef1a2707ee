// The SQL migrations compiled into the binaries (generated from sql/*.sql by sql/embed.cmake).
#pragma once

#include <string>
#include <vector>

namespace kod::db {

/// One forward-only migration: sql/<version>_<name>.sql. Statements are separated by ";\n".
struct Migration {
  int version;
  const char* name;
  const char* sql;
};

/// All migrations, in ascending version order.
const std::vector<Migration>& Migrations();

}  // namespace kod::db
