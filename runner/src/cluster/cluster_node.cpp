#include "baton/runner/cluster_node.h"

#include <boost/asio/post.hpp>

#include <unistd.h>

#include <random>

#include "baton/common/logging.h"
#include "baton/runner/scheduler.h"

namespace baton::runner {

namespace asio = boost::asio;

std::string ClusterNode::MakeNodeName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "node");
  std::random_device random;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", random() & 0xffff);
  return std::string(host) + "-" + std::to_string(::getpid()) + "-" + suffix;
}

ClusterNode::ClusterNode(asio::io_context& io, ClusterStore& store, Scheduler& scheduler,
                         ClusterNodeOptions options)
    : io_(io),
      store_(store),
      scheduler_(scheduler),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : RealClock()),
      lease_timer_(io),
      poll_timer_(io) {}

ClusterNode::~ClusterNode() { *alive_ = false; }

Status ClusterNode::Start() {
  BATON_RETURN_IF_ERROR(store_.HeartbeatNode({options_.name, options_.url, {}, {}}, clock_.Now()));
  std::weak_ptr<bool> alive = alive_;
  // On the store's listener thread: hand the payload to the scheduler's.
  BATON_RETURN_IF_ERROR(store_.Subscribe([this, alive](const std::string& payload) {
    asio::post(io_, [this, alive, payload] {
      if (alive.lock()) Heard(payload);
    });
  }));
  auto nodes = store_.ListNodes(clock_.Now() - 2 * options_.lease_ttl);
  std::string others;
  if (nodes.ok()) {
    for (const NodeRecord& node : *nodes) {
      if (node.name == options_.name) continue;
      others += (others.empty() ? "" : ", ") + node.name + " (" + node.url + ")";
    }
  }
  ModuleLogger("web")->info("web node {}; other nodes on this database: {}", options_.name,
                            others.empty() ? "none" : others);
  Tick();
  if (LeaderName() != options_.name) {
    ModuleLogger("web")->info(
        "node {} schedules (holds the scheduler's lease); this node takes over if it stops "
        "renewing it for {} s",
        LeaderName(), options_.lease_ttl.count() / 1000);
  }
  poll_timer_.expires_after(options_.poll_every);
  poll_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (!ec && alive.lock()) Poll();
  });
  return Status::Ok();
}

void ClusterNode::Stop() {
  if (stopped_) return;
  stopped_ = true;
  lease_timer_.cancel();
  poll_timer_.cancel();
  (void)store_.ReleaseLease(kSchedulerLease, options_.name);
  (void)store_.RemoveNode(options_.name);
}

void ClusterNode::Tick() {
  if (stopped_) return;
  const SystemTime now = clock_.Now();
  auto log = ModuleLogger("web");
  if (Status s = store_.HeartbeatNode({options_.name, options_.url, {}, {}}, now); !s.ok()) {
    log->warn("heartbeat of node {}: {}", options_.name, s.ToString());
  }
  const std::string before = LeaderName();
  auto holder = store_.AcquireLease(kSchedulerLease, options_.name, now, options_.lease_ttl);
  if (!holder.ok()) {
    // Unreachable database: whether the lease is still ours cannot be known; it expires on its
    // own if this goes on, and another node takes over, so stop scheduling now.
    log->error("cannot renew the scheduler's lease: {}", holder.status().ToString());
    scheduler_.SetLeader(false);
  } else {
    {
      std::lock_guard lock(mu_);
      leader_ = *holder;
    }
    const bool mine = *holder == options_.name;
    if (mine && !scheduler_.leader()) {
      const std::string old = before.empty() || before == options_.name ? "" : " " + before;
      scheduler_.SetLeader(
          true, "the web node" + old + " that ran this build stopped (no heartbeat for " +
                    std::to_string(options_.lease_ttl.count() / 1000) + " s); trigger it again");
    } else if (!mine && scheduler_.leader()) {
      scheduler_.SetLeader(false);
    }
  }
  std::weak_ptr<bool> alive = alive_;
  lease_timer_.expires_after(options_.lease_ttl / 3);
  lease_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (!ec && alive.lock()) Tick();
  });
}

void ClusterNode::Poll() {
  if (stopped_) return;
  scheduler_.Resync();
  std::weak_ptr<bool> alive = alive_;
  poll_timer_.expires_after(options_.poll_every);
  poll_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (!ec && alive.lock()) Poll();
  });
}

void ClusterNode::Publish(const PipelineChange& change) {
  const Json message = {{"node", options_.name}, {"change", ToJson(change)}};
  if (Status s = store_.Publish(message.dump()); !s.ok()) {
    ModuleLogger("web")->warn("cannot tell the other nodes ({}): {}; they catch up by polling",
                              message.dump(), s.ToString());
  }
}

void ClusterNode::Heard(const std::string& payload) {
  if (stopped_) return;
  if (payload.empty()) {  // the listener reconnected: something may have been missed
    scheduler_.Resync();
    return;
  }
  Json message = Json::parse(payload, nullptr, false);
  if (!message.is_object() || message.value("node", "") == options_.name) return;
  auto change = PipelineChangeFromJson(message.value("change", Json()));
  if (!change.ok()) {
    ModuleLogger("web")->warn("ignoring a notification from another node: {}",
                              change.status().ToString());
    return;
  }
  scheduler_.Apply(commands::Refresh{*change}, [](const Result<CommandReply>&) {});
}

std::string ClusterNode::LeaderName() const {
  std::lock_guard lock(mu_);
  return leader_;
}

Json ClusterNode::Describe() const {
  Json nodes = Json::array();
  auto list = store_.ListNodes(clock_.Now() - 2 * options_.lease_ttl);
  if (list.ok()) {
    for (const NodeRecord& node : *list) {
      nodes.push_back({{"name", node.name},
                       {"url", node.url},
                       {"started_at", FormatRfc3339(node.started_at)},
                       {"last_seen", FormatRfc3339(node.last_seen)}});
    }
  }
  return Json{{"name", options_.name}, {"leader", LeaderName()}, {"nodes", nodes}};
}

}  // namespace baton::runner
