// ClusterStore: what several web nodes on one database share besides Baton's state (DESIGN.md
// §5): who is up (nodes and their heartbeats), who schedules (leases with an expiry, kept in the
// database) and word of a change (notifications: PostgreSQL's LISTEN/NOTIFY).
//
// A lease is a named row held by one node until `expires_at`; the holder renews it before then.
// A node that dies (kill -9) stops renewing and another node acquires the lease once it has
// expired: this is how Baton tells a dead node from a slow one, without trusting either
// node's clock more than the database's writes (every acquisition is one transaction under the
// store's write lock, so two nodes never both hold a lease).
//
// Consumers: the server runtime (web-api/src/runtime), which registers its node, holds the
// scheduler's lease and relays pipeline changes to the other nodes.
//
// Thread-safety: implementations are safe to call from any thread concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "baton/common/clock.h"
#include "baton/common/status.h"

namespace baton::runner {

// One web node as the others see it.
struct NodeRecord {
  std::string name;  // unique per process: "<host>-<pid>-<random>"
  std::string url;   // where its API listens
  SystemTime started_at{};
  SystemTime last_seen{};  // its last heartbeat
};

class ClusterStore {
 public:
  virtual ~ClusterStore() = default;

  // ---- Nodes.
  // Inserts or refreshes `node` with last_seen = now (started_at is kept from the first call).
  virtual Status HeartbeatNode(const NodeRecord& node, SystemTime now) = 0;
  // Nodes seen since `since`, by name.
  virtual Result<std::vector<NodeRecord>> ListNodes(SystemTime since) = 0;
  virtual Status RemoveNode(const std::string& name) = 0;

  // ---- Leases.
  // Takes or renews `lease` for `holder` until now + ttl when it is free, expired or already
  // the holder's. Returns the holder after the call: `holder` when it holds the lease now,
  // else the node that does.
  virtual Result<std::string> AcquireLease(const std::string& lease, const std::string& holder,
                                           SystemTime now, std::chrono::milliseconds ttl) = 0;
  // Gives `lease` up when `holder` holds it (a clean shutdown: the next node need not wait).
  virtual Status ReleaseLease(const std::string& lease, const std::string& holder) = 0;

  // ---- Notifications (one channel, small text payloads, at most 7,000 bytes).
  // Sends `payload` to every subscriber of every store on this database, this one included.
  // SQLite (one node) delivers to this store's subscriber only.
  virtual Status Publish(const std::string& payload) = 0;
  // Calls `on_message` (on a thread of the store's) with each payload published after this
  // call, until the store closes. `on_message` must be quick and must not call the store.
  // One subscriber per store; a second call replaces the first. When the connection that
  // listens is lost, the store reconnects and calls `on_message` with "" (messages may have
  // been missed: poll).
  virtual Status Subscribe(std::function<void(const std::string& payload)> on_message) = 0;
};

}  // namespace baton::runner
