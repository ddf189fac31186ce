#include "build_event_source.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "baton/common/clock.h"

namespace baton::webapi::api {
namespace {

// One thread for all streams: calls every registered callback every 25 ms.
class Ticker {
 public:
  static Ticker& Get() {
    static Ticker* ticker = new Ticker();  // never destroyed: streams may outlive statics
    return *ticker;
  }
  uint64_t Add(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    uint64_t id = ++next_;
    callbacks_[id] = std::move(fn);
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    cv_.notify_all();
    return id;
  }
  void Remove(uint64_t id) {
    std::unique_lock lock(mu_);
    callbacks_.erase(id);
    // Wait until a tick in progress has finished, so the callback will not run again.
    cv_.wait(lock, [this] { return !ticking_; });
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return !callbacks_.empty(); });
      ticking_ = true;
      for (auto& [id, fn] : callbacks_) fn();
      ticking_ = false;
      cv_.notify_all();
      cv_.wait_for(lock, std::chrono::milliseconds(25));
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::function<void()>> callbacks_;
  uint64_t next_ = 0;
  bool ticking_ = false;
  std::thread thread_;
};

class TickerSubscription final : public EventSubscription {
 public:
  explicit TickerSubscription(uint64_t id) : id_(id) {}
  ~TickerSubscription() override { Ticker::Get().Remove(id_); }

 private:
  uint64_t id_;
};

class BuildEventSource final : public EventSource {
 public:
  BuildEventSource(runner::Store& store, runner::Id build_id)
      : store_(store), build_id_(build_id) {}

  SseBatch NextEvents(const std::string& after_id, size_t max_events) override {
    SseBatch batch;
    int64_t after = 0;
    if (!after_id.empty()) after = std::strtoll(after_id.c_str(), nullptr, 10);
    // Read the status before the events: if it was finished then, the log is complete.
    auto build = store_.GetBuild(build_id_);
    bool finished = !build.ok() || runner::IsFinished(build->status);
    auto events = store_.ReadEvents(build_id_, after, static_cast<int>(max_events));
    if (!events.ok()) {
      batch.finished = true;
      return batch;
    }
    for (const auto& e : *events) {
      nlohmann::json data = {{"seq", e.seq},       {"time", ToUnixMillis(e.time)},
                             {"origin", e.origin}, {"type", e.type},
                             {"stream", e.stream}, {"payload", e.payload}};
      batch.events.push_back({std::to_string(e.seq), e.type, data.dump()});
    }
    batch.finished = finished && batch.events.empty();
    return batch;
  }

  std::unique_ptr<EventSubscription> Watch(std::function<void()> notify) override {
    return std::make_unique<TickerSubscription>(Ticker::Get().Add(std::move(notify)));
  }

 private:
  runner::Store& store_;
  runner::Id build_id_;
};

}  // namespace

std::shared_ptr<EventSource> MakeBuildEventSource(runner::Store& store, runner::Id build_id) {
  return std::make_shared<BuildEventSource>(store, build_id);
}

}  // namespace baton::webapi::api
