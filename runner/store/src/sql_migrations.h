// One migration runner for every database the store runs on (SQLite, PostgreSQL): numbered
// migrations, each applied in its own transaction together with the new schema version, and a
// database newer than the newest migration refused. What differs between databases (where the
// version lives, how processes starting together take turns) is a SchemaVersioning; the
// migrations themselves are each database's SQL (migrations.cpp, pg_migrations.cpp).
//
// Thread-compatible: one thread migrates a connection.
#pragma once

#include <string>
#include <vector>

#include "baton/common/status.h"
#include "sql_db.h"

namespace baton::runner::sql {

struct Migration {
  int version;
  const char* sql;
};

struct SchemaVersioning {
  const char* setup = "";  // run first (under the lock), e.g. the version table
  const char* read = "";   // a query answering the version (no row or NULL: 0)
  std::string (*write)(int version) = nullptr;  // the statement recording `version`
  const char* lock = "";                        // held around the run, so nodes migrate once
  const char* unlock = "";
};

// Brings the database to the last of `migrations`. A database newer than that is
// kFailedPrecondition (written by a newer Baton); nothing is changed then.
// REQUIRES: `migrations` is not empty and ordered by version.
Status Migrate(Connection& conn, const std::vector<Migration>& migrations,
               const SchemaVersioning& versioning);

Result<int> ReadSchemaVersion(Connection& conn, const SchemaVersioning& versioning);

}  // namespace baton::runner::sql
