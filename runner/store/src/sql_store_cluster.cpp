// SqlStore: nodes and leases (cluster_store.h), the same SQL on SQLite and PostgreSQL. Every
// acquisition is one write transaction, and writes are serialized (SQLite's single writer,
// PostgreSQL's database-wide write lock), so reading the lease and then taking it is safe.
#include "baton/runner/sql_store.h"

#include "rows.h"
#include "sql_db.h"

namespace baton::runner {

using sql::Connection;

namespace {

NodeRecord ReadNode(const sql::Statement& row) {
  sql::Columns c(row);
  NodeRecord node;
  node.name = c.Text();
  node.url = c.Text();
  node.started_at = c.Time();
  node.last_seen = c.Time();
  return node;
}

}  // namespace

Status SqlStore::HeartbeatNode(const NodeRecord& node, SystemTime now) {
  if (node.name.empty()) return InvalidArgument("a node needs a name to send heartbeats");
  const int64_t now_ms = ToUnixMillis(now);
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run("UPDATE nodes SET url = ?, last_seen = ? WHERE name = ?",
                                   node.url, now_ms, node.name));
    if (conn.Changes() > 0) return Status::Ok();
    return conn.Run("INSERT INTO nodes (name, url, started_at, last_seen) VALUES (?, ?, ?, ?)",
                    node.name, node.url, now_ms, now_ms);
  });
}

Result<std::vector<NodeRecord>> SqlStore::ListNodes(SystemTime since) {
  std::vector<NodeRecord> nodes;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(nodes,
                           sql::QueryRows(conn, ReadNode,
                                          "SELECT name, url, started_at, last_seen FROM nodes "
                                          "WHERE last_seen >= ? ORDER BY name",
                                          ToUnixMillis(since)));
    return Status::Ok();
  }));
  return nodes;
}

Status SqlStore::RemoveNode(const std::string& name) {
  return Write(
      [&](Connection& conn) { return conn.Run("DELETE FROM nodes WHERE name = ?", name); });
}

Result<std::string> SqlStore::AcquireLease(const std::string& lease, const std::string& holder,
                                           SystemTime now, std::chrono::milliseconds ttl) {
  if (lease.empty() || holder.empty()) {
    return InvalidArgument("a lease needs a name and a holder (got `" + lease + "`, `" + holder +
                           "`)");
  }
  const int64_t now_ms = ToUnixMillis(now);
  const int64_t until_ms = now_ms + ttl.count();
  std::string held_by;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    auto stmt = conn.Prepare("SELECT holder, expires_at FROM leases WHERE name = ?");
    if (!stmt.ok()) return stmt.status();
    (*stmt)->BindAll(lease);
    BATON_ASSIGN_OR_RETURN(bool found, (*stmt)->Step());
    if (!found) {
      held_by = holder;
      return conn.Run("INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)", lease,
                      holder, until_ms);
    }
    std::string current = (*stmt)->Text(0);
    const int64_t expires_ms = (*stmt)->Int(1);
    if (current != holder && expires_ms > now_ms) {
      held_by = current;  // someone else's, and still valid
      return Status::Ok();
    }
    held_by = holder;
    return conn.Run("UPDATE leases SET holder = ?, expires_at = ? WHERE name = ?", holder, until_ms,
                    lease);
  }));
  return held_by;
}

Status SqlStore::ReleaseLease(const std::string& lease, const std::string& holder) {
  return Write([&](Connection& conn) {
    return conn.Run("DELETE FROM leases WHERE name = ? AND holder = ?", lease, holder);
  });
}

Status SqlStore::Publish(const std::string& payload) {
  std::lock_guard<std::mutex> lock(subscriber_mu_);
  if (subscriber_) subscriber_(payload);
  return Status::Ok();
}

Status SqlStore::Subscribe(std::function<void(const std::string& payload)> on_message) {
  std::lock_guard<std::mutex> lock(subscriber_mu_);
  subscriber_ = std::move(on_message);
  return Status::Ok();
}

}  // namespace baton::runner
