// ClusterNode: one web node among several on one database (docs/deploying.md). It keeps the
// node's heartbeat in the store, holds (or waits for) the scheduler's lease, which makes this
// node's Scheduler the leader, relays the scheduler's pipeline changes to the other nodes
// (ClusterStore::Publish) and applies theirs here (commands::Refresh), and catches up by polling
// (Scheduler::Resync) every `poll_every` in case a notification was lost.
//
// The lease: every `lease_ttl / 3` the node renews it (or tries to take it). A node that stops
// renewing (killed, frozen, cut off from the database) loses it `lease_ttl` after its last
// renewal; another node then takes it, errors the builds the old leader had started and starts
// the pending ones. A node that finds its lease taken stops scheduling at once.
//
// Thread-safety: Start, Stop and Publish on the io_context's thread (the scheduler's); Describe
// from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "baton/common/clock.h"
#include "baton/common/json.h"
#include "baton/runner/cluster_store.h"
#include "baton/runner/commands.h"

namespace baton::runner {

class Scheduler;

struct ClusterNodeOptions {
  std::string name;  // unique per process (MakeNodeName())
  std::string url;   // where this node's API listens, shown to the others
  std::chrono::milliseconds lease_ttl{15000};
  std::chrono::milliseconds poll_every{10000};
  const Clock* clock = nullptr;  // null = the real clock
};

class ClusterNode {
 public:
  // The name of the scheduler's lease in the store.
  static constexpr const char* kSchedulerLease = "scheduler";
  // "<host>-<pid>-<4 random hex digits>".
  static std::string MakeNodeName();

  ClusterNode(boost::asio::io_context& io, ClusterStore& store, Scheduler& scheduler,
              ClusterNodeOptions options);
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Sends the first heartbeat, listens for the other nodes and tries for the lease (becoming
  // the leader at once when it is free). Errors when the store cannot be reached.
  Status Start();
  // Gives the lease up and removes this node's record (a clean shutdown), so the next leader
  // need not wait for the lease to expire.
  void Stop();

  // Tells the other nodes what this node's scheduler changed.
  void Publish(const PipelineChange& change);

  // {"name", "leader", "nodes": [{"name", "url", "started_at", "last_seen"}]}: the nodes seen
  // within two lease periods.
  Json Describe() const;
  const std::string& name() const { return options_.name; }

 private:
  void Tick();
  void Poll();
  void Heard(const std::string& payload);
  std::string LeaderName() const;

  boost::asio::io_context& io_;
  ClusterStore& store_;
  Scheduler& scheduler_;
  const ClusterNodeOptions options_;
  const Clock& clock_;
  boost::asio::steady_timer lease_timer_;
  boost::asio::steady_timer poll_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool stopped_ = false;
  mutable std::mutex mu_;
  std::string leader_;  // GUARDED_BY(mu_): the lease's holder at the last renewal
};

}  // namespace baton::runner
