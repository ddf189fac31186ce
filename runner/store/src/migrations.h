// SQLite's numbered schema migrations, run by the store's one migration runner
// (sql_migrations.h). The database's PRAGMA user_version is the number of the last one applied;
// each is applied in its own transaction together with the new user_version.
#pragma once

#include "baton/common/status.h"
#include "sqlite_db.h"

namespace baton::runner::sqlite {

// The newest schema version this build knows.
int LatestSchemaVersion();

// Brings the database to LatestSchemaVersion(). A database newer than that is
// kFailedPrecondition (written by a newer Baton); nothing is changed then.
Status Migrate(Connection& conn);

Result<int> ReadSchemaVersion(sql::Connection& conn);

}  // namespace baton::runner::sqlite
