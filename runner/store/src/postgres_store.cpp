// PostgresStore: connecting, migrations, the writer connection and the reader pool.
#include "baton/runner/postgres_store.h"

#include <regex>

#include "pg_db.h"
#include "pg_listener.h"
#include "pg_migrations.h"

namespace baton::runner {

namespace {

// The transaction-scoped advisory lock every write takes ("baton-wr"), so writes from several
// nodes are serialized like SQLite's single writer: read-then-write logic (build numbers, check
// order, first occurrences) stays correct without per-statement retries.
constexpr const char* kWriteLock = "SELECT pg_advisory_xact_lock(7089066110338937458)";

}  // namespace

PostgresStore::PostgresStore(const Clock& clock, PostgresStoreOptions options, std::string uri)
    : SqlStore(clock, options), uri_(std::move(uri)), redacted_(Redacted(uri_)) {}

PostgresStore::~PostgresStore() {
  listener_.reset();
  StopEventWriter();
}

int PostgresStore::LatestSchemaVersion() { return pg::LatestSchemaVersion(); }

std::string PostgresStore::Redacted(const std::string& uri) {
  // postgres://user:secret@host/db -> postgres://user:***@host/db; key=value: password=***.
  static const std::regex url_password(R"(^([a-z][a-z0-9+.-]*://[^:/@]*:)[^@]*@)");
  static const std::regex kv_password(R"((password\s*=\s*)(\S+))");
  std::string out = std::regex_replace(uri, url_password, "$1***@");
  return std::regex_replace(out, kv_password, "$1***");
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& uri,
                                                           const Clock& clock,
                                                           PostgresStoreOptions options) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(clock, options, uri));
  Status status = store->Initialize();
  if (!status.ok()) return status.WithContext(store->redacted_);
  return store;
}

Status PostgresStore::Initialize() {
  BATON_ASSIGN_OR_RETURN(writer_, pg::Connection::Open(uri_, redacted_));
  BATON_RETURN_IF_ERROR(pg::Migrate(*writer_));
  StartEventWriter();
  return Status::Ok();
}

Status PostgresStore::WriteLocked(const Body& body) {
  if (!writer_->Healthy()) {  // the server restarted or the network dropped: reconnect once
    BATON_ASSIGN_OR_RETURN(writer_, pg::Connection::Open(uri_, redacted_));
  }
  sql::Transaction tx(*writer_);
  BATON_RETURN_IF_ERROR(tx.Begin(/*immediate=*/true));
  BATON_RETURN_IF_ERROR(writer_->Exec(kWriteLock));
  BATON_RETURN_IF_ERROR(body(*writer_));
  return tx.Commit();
}

Result<std::unique_ptr<pg::Connection>> PostgresStore::AcquireReader() {
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return conn;
    }
  }
  return pg::Connection::Open(uri_, redacted_);
}

void PostgresStore::ReleaseReader(std::unique_ptr<pg::Connection> conn) {
  if (!conn->Healthy()) return;
  std::lock_guard<std::mutex> lock(readers_mu_);
  if (idle_readers_.size() < options_.max_idle_readers) idle_readers_.push_back(std::move(conn));
}

Status PostgresStore::Read(const Body& body) {
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> conn, AcquireReader());
  Status status;
  {
    sql::Transaction tx(*conn);
    status = tx.Begin(/*immediate=*/false);
    if (status.ok()) status = body(*conn);
    if (status.ok()) status = tx.Commit();
  }
  ReleaseReader(std::move(conn));
  return status;
}

// The channel every node LISTENs on (cluster_store.h).
constexpr const char* kChannel = "baton_changes";

Status PostgresStore::Publish(const std::string& payload) {
  if (payload.size() > 7000) {
    return InvalidArgument("a notification of " + std::to_string(payload.size()) +
                           " bytes is over PostgreSQL's limit: send an id and read the rest");
  }
  // Delivered when the transaction commits, to every listening connection (this node's too).
  return Write([&](sql::Connection& conn) {
    return conn.Run(std::string("SELECT pg_notify('") + kChannel + "', ?)", payload);
  });
}

Status PostgresStore::Subscribe(std::function<void(const std::string& payload)> on_message) {
  listener_.reset();
  listener_ = std::make_unique<pg::Listener>(uri_, redacted_, kChannel, std::move(on_message));
  return Status::Ok();
}

Result<int> PostgresStore::SchemaVersion() {
  int version = 0;
  BATON_RETURN_IF_ERROR(Read([&](sql::Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(version, pg::ReadSchemaVersion(static_cast<pg::Connection&>(conn)));
    return Status::Ok();
  }));
  return version;
}

}  // namespace baton::runner
