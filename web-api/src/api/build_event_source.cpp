#include "build_event_source.h"

#include <condition_variable>
#include <thread>

#include <nlohmann/json.hpp>

#include "baton/common/clock.h"
#include "baton/common/logging.h"

namespace baton::webapi::api {
namespace {

// The fallback for stores that cannot announce events: one thread for all such streams calls
// every registered callback every 25 ms.
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
  BuildEventSource(runner::BuildStore& builds, runner::EventLog& log,
                   std::shared_ptr<BuildEventHub> hub, runner::Id build_id)
      : builds_(builds),
        log_(log),
        hub_(std::move(hub)),
        build_id_(build_id),
        frames_(hub_ ? hub_->FramesFor(build_id) : std::make_shared<BuildFrames>()),
        stream_(frames_->AddStream()) {}
  ~BuildEventSource() override { frames_->RemoveStream(stream_); }

  SseBatch NextEvents(const std::string& after_id, size_t max_events) override {
    int64_t after = ParseSeq(after_id);
    SseBatch batch;
    // Read the status before the events: if it was finished then, the log is complete.
    bool finished = Finished();
    auto events = log_.ReadEvents(build_id_, after, static_cast<int>(max_events), kReadBytes);
    if (!events.ok()) {
      batch.finished = true;
      return batch;
    }
    for (const auto& e : *events) batch.events.push_back(BuildEventToSse(e));
    batch.finished = finished && batch.events.empty();
    return batch;
  }

  SseFrames NextFrames(const std::string& after_id, size_t max_events, size_t max_bytes) override {
    int64_t after = ParseSeq(after_id);
    if (auto cached = frames_->Cached(after, max_events, max_bytes, stream_)) return *cached;
    bool finished = Finished();  // before the events, as in NextEvents
    auto frames = frames_->Next(
        after, max_events, max_bytes,
        [this](int64_t from, int limit) {
          return log_.ReadEvents(build_id_, from, limit, kReadBytes);
        },
        stream_);
    if (!frames.ok()) {
      ModuleLogger("webapi")->error("cannot read the events of build {}: {}", build_id_,
                                    frames.status().ToString());
      SseFrames end;
      end.finished = true;
      return end;
    }
    frames->finished = finished && frames->bytes.empty();
    return std::move(*frames);
  }

  std::unique_ptr<EventSubscription> Watch(std::function<void()> notify) override {
    if (hub_) return hub_->Watch(build_id_, std::move(notify));
    return std::make_unique<TickerSubscription>(Ticker::Get().Add(std::move(notify)));
  }

 private:
  // A store read stops once its payloads reach this: a `log` event may be a 64 KiB run of
  // lines, and 1,024 of them read at once held 64 MB (W4 with followers peaked at 39-42 MB).
  static constexpr size_t kReadBytes = 256u << 10;

  static int64_t ParseSeq(const std::string& id) {
    return id.empty() ? 0 : std::strtoll(id.c_str(), nullptr, 10);
  }
  bool Finished() {
    auto build = builds_.GetBuild(build_id_);
    return !build.ok() || runner::IsFinished(build->status);
  }

  runner::BuildStore& builds_;
  runner::EventLog& log_;
  std::shared_ptr<BuildEventHub> hub_;
  runner::Id build_id_;
  std::shared_ptr<BuildFrames> frames_;  // shared with the build's other streams
  uint64_t stream_;                      // this stream's key in frames_
};

}  // namespace

// ---- BuildEventHub ----

class BuildEventHub::Subscription final : public EventSubscription {
 public:
  Subscription(std::shared_ptr<BuildEventHub> hub, runner::Id build_id, uint64_t key)
      : hub_(std::move(hub)), build_id_(build_id), key_(key) {}
  ~Subscription() override { hub_->Unwatch(build_id_, key_); }

 private:
  std::shared_ptr<BuildEventHub> hub_;
  runner::Id build_id_;
  uint64_t key_;
};

bool BuildEventHub::OnEventsAppended(runner::Id build_id, runner::SeqRange) {
  if (followed_count_.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard lock(mutex_);
  return builds_.count(build_id) > 0;
}

void BuildEventHub::OnEventsCommitted(runner::Id build_id, int64_t last_seq) { Notify(build_id); }

void BuildEventHub::OnBuildFinished(runner::Id build_id) { Notify(build_id); }

void BuildEventHub::Notify(runner::Id build_id) {
  if (followed_count_.load(std::memory_order_relaxed) == 0) return;
  // Under mutex_, so Unwatch cannot return while a notify runs.
  std::lock_guard lock(mutex_);
  auto it = builds_.find(build_id);
  if (it == builds_.end()) return;
  for (auto& [key, notify] : it->second) notify();
}

std::unique_ptr<EventSubscription> BuildEventHub::Watch(runner::Id build_id,
                                                        std::function<void()> notify) {
  std::lock_guard lock(mutex_);
  uint64_t key = ++next_key_;
  builds_[build_id].emplace(key, std::move(notify));
  followed_count_.store(builds_.size());
  return std::make_unique<Subscription>(shared_from_this(), build_id, key);
}

std::shared_ptr<BuildFrames> BuildEventHub::FramesFor(runner::Id build_id) {
  std::lock_guard lock(mutex_);
  std::erase_if(frames_, [](const auto& entry) { return entry.second.expired(); });
  std::weak_ptr<BuildFrames>& slot = frames_[build_id];
  std::shared_ptr<BuildFrames> frames = slot.lock();
  if (!frames) {
    frames = std::make_shared<BuildFrames>();
    slot = frames;
  }
  return frames;
}

void BuildEventHub::Unwatch(runner::Id build_id, uint64_t key) {
  std::lock_guard lock(mutex_);
  auto it = builds_.find(build_id);
  if (it == builds_.end()) return;
  it->second.erase(key);
  if (it->second.empty()) builds_.erase(it);
  followed_count_.store(builds_.size());
}

std::shared_ptr<BuildEventHub> BuildEventHubFor(runner::EventLog& log) {
  static std::mutex mutex;
  static auto* hubs = new std::map<runner::EventLog*, std::weak_ptr<BuildEventHub>>();
  std::lock_guard lock(mutex);
  std::erase_if(*hubs, [](const auto& entry) { return entry.second.expired(); });
  auto found = hubs->find(&log);
  if (found != hubs->end()) return found->second.lock();
  auto hub = std::make_shared<BuildEventHub>();
  if (!log.SetBuildEventListener(hub)) return nullptr;
  (*hubs)[&log] = hub;
  return hub;
}

std::shared_ptr<EventSource> MakeBuildEventSource(runner::BuildStore& builds, runner::EventLog& log,
                                                  runner::Id build_id) {
  return MakeBuildEventSource(builds, log, BuildEventHubFor(log), build_id);
}

std::shared_ptr<EventSource> MakeBuildEventSource(runner::BuildStore& builds, runner::EventLog& log,
                                                  std::shared_ptr<BuildEventHub> hub,
                                                  runner::Id build_id) {
  return std::make_shared<BuildEventSource>(builds, log, std::move(hub), build_id);
}

}  // namespace baton::webapi::api
