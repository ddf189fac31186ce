#include "runtime/worker_heartbeat.h"

#include <unistd.h>

#include "baton/common/clock.h"
#include "baton/common/logging.h"

namespace baton::webapi {

WorkerHeartbeat::WorkerHeartbeat(boost::asio::io_context& io, runner::Store& store,
                                 const CountedWorker& worker, const std::string& version,
                                 std::chrono::milliseconds every)
    : timer_(io), store_(store), worker_(worker), every_(every) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  record_.name = worker.name();
  record_.platform = "linux";
  record_.capacity = 0;
  record_.state = "running";
  record_.info = {{"version", version},
                  {"hostname", host},
                  {"started_at", FormatRfc3339(RealClock().Now())},
                  {"isolation", workers::ToString(worker.isolation())},
                  {"heartbeat_every_ms", every.count()}};
}

void WorkerHeartbeat::Stop() {
  stopped_ = true;
  timer_.cancel();
  (void)store_.DeleteWorker(record_.name);
}

void WorkerHeartbeat::Beat() {
  if (stopped_) return;
  record_.last_heartbeat = RealClock().Now();
  record_.info["active_tasks"] = worker_.active_tasks();
  record_.info["active_containers"] = worker_.active_containers();
  record_.info["last_heartbeat"] = FormatRfc3339(record_.last_heartbeat);
  if (Status s = store_.SaveWorker(record_); !s.ok()) {
    ModuleLogger("web")->warn("worker heartbeat: {}", s.ToString());
  }
  timer_.expires_after(every_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Beat();
  });
}

}  // namespace baton::webapi
