#include "sql_migrations.h"

namespace baton::runner::sql {
namespace {

// Applies every migration above the version the database has, in one transaction: a new
// database gets its whole schema in one commit (one write of each page instead of one per
// migration touching it), and a failing migration leaves the database as it was.
Status ApplyPending(Connection& conn, const std::vector<Migration>& migrations,
                    const SchemaVersioning& versioning) {
  Transaction tx(conn);
  BATON_RETURN_IF_ERROR(tx.Begin(/*immediate=*/true));
  // Another process may have migrated between our first read and this transaction (SQLite has
  // no lock around the whole run).
  BATON_ASSIGN_OR_RETURN(int current, ReadSchemaVersion(conn, versioning));
  const int latest = migrations.back().version;
  if (current >= latest) return Status::Ok();
  for (const Migration& migration : migrations) {
    if (migration.version <= current) continue;
    Status status = conn.Exec(migration.sql);
    if (!status.ok()) {
      return status.WithContext("schema migration " + std::to_string(migration.version));
    }
  }
  BATON_RETURN_IF_ERROR(conn.Exec(versioning.write(latest)));
  return tx.Commit();
}

Status MigrateLocked(Connection& conn, const std::vector<Migration>& migrations,
                     const SchemaVersioning& versioning) {
  if (*versioning.setup) BATON_RETURN_IF_ERROR(conn.Exec(versioning.setup));
  BATON_ASSIGN_OR_RETURN(int current, ReadSchemaVersion(conn, versioning));
  const int latest = migrations.back().version;
  if (current > latest) {
    return FailedPrecondition("the database has schema version " + std::to_string(current) +
                              ", newer than this Baton knows (" + std::to_string(latest) +
                              "); it was written by a newer Baton — upgrade Baton to use it");
  }
  if (current == latest) return Status::Ok();
  return ApplyPending(conn, migrations, versioning);
}

}  // namespace

Result<int> ReadSchemaVersion(Connection& conn, const SchemaVersioning& versioning) {
  BATON_ASSIGN_OR_RETURN(auto version, conn.QueryInt(versioning.read));
  return static_cast<int>(version.value_or(0));
}

Status Migrate(Connection& conn, const std::vector<Migration>& migrations,
               const SchemaVersioning& versioning) {
  if (!*versioning.lock) return MigrateLocked(conn, migrations, versioning);
  BATON_RETURN_IF_ERROR(conn.Exec(versioning.lock));
  Status status = MigrateLocked(conn, migrations, versioning);
  Status unlocked = conn.Exec(versioning.unlock);
  if (!status.ok()) return status;
  return unlocked;
}

}  // namespace baton::runner::sql
