// PostgresStore: every store role on PostgreSQL (`baton web --database postgres://...`), for
// several web nodes on one database. The roles' SQL is SqlStore's (sql_store.h), the same SQLite
// runs; this class supplies the connections and PostgreSQL's schema.
//
// Schema: numbered migrations (table baton_schema_version), applied by the first node to start
// under a PostgreSQL advisory lock, so nodes starting together migrate once and the others wait
// for it. A database written by a newer Baton is refused.
//
// Connections: a writer connection (every state change is one transaction that first takes a
// transaction-scoped advisory lock, so writes from every node are serialized as SQLite's are)
// and a pool of reader connections (REPEATABLE READ, READ ONLY: a consistent snapshot that never
// blocks the writer), and one more connection that LISTENs once someone subscribes to the other
// nodes' notifications. Build event chunks are bytea rows, which PostgreSQL compresses (TOAST).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "baton/runner/sql_store.h"

namespace baton::runner {

namespace pg {
class Connection;
class Listener;
}  // namespace pg

struct PostgresStoreOptions : SqlStoreOptions {};

class PostgresStore final : public SqlStore {
 public:
  // Connects to `uri` (postgres://user:password@host:port/db?sslmode=..., or libpq's key=value
  // form) and migrates the schema. `clock` must outlive the store.
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& uri, const Clock& clock,
                                                     PostgresStoreOptions options = {});
  // The schema version this Baton writes.
  static int LatestSchemaVersion();
  // `uri` with its password replaced by "***" (for logs and errors).
  static std::string Redacted(const std::string& uri);

  ~PostgresStore() override;  // commits queued events, then closes

  Result<int> SchemaVersion();

  // Through NOTIFY / LISTEN on the channel `baton_changes`: every node on the database hears.
  Status Publish(const std::string& payload) override;
  Status Subscribe(std::function<void(const std::string& payload)> on_message) override;

 private:
  PostgresStore(const Clock& clock, PostgresStoreOptions options, std::string uri);
  Status Initialize();
  Status WriteLocked(const Body& body) override;
  Status Read(const Body& body) override;
  Result<std::unique_ptr<pg::Connection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<pg::Connection> conn);

  const std::string uri_;
  const std::string redacted_;
  std::unique_ptr<pg::Connection> writer_;  // used under SqlStore's write mutex
  std::mutex readers_mu_;
  std::vector<std::unique_ptr<pg::Connection>> idle_readers_;  // GUARDED_BY(readers_mu_)
  std::unique_ptr<pg::Listener> listener_;                     // after Subscribe
};

}  // namespace baton::runner
