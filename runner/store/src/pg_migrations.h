// PostgreSQL's numbered schema migrations: the same schema and numbers as SQLite's
// (migrations.cpp) in PostgreSQL's types, run by the same runner (sql_migrations.h). The version
// lives in baton_schema_version; migrating holds a session advisory lock, so nodes starting
// together migrate once.
#pragma once

#include "baton/common/status.h"
#include "pg_db.h"

namespace baton::runner::pg {

int LatestSchemaVersion();

// Brings the database to LatestSchemaVersion(). A database newer than that is
// kFailedPrecondition (written by a newer Baton); nothing is changed then.
Status Migrate(Connection& conn);

Result<int> ReadSchemaVersion(Connection& conn);

}  // namespace baton::runner::pg
