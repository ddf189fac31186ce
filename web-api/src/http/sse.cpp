#include "baton/webapi/sse.h"

#include <algorithm>
#include <charconv>

namespace baton::webapi {

// ---- EventSource ----

SseFrames EventSource::NextFrames(const std::string& after_id, size_t max_events,
                                  size_t max_bytes) {
  SseBatch batch = NextEvents(after_id, max_events);
  auto storage = std::make_shared<std::string>();
  SseFrames frames;
  for (const SseEvent& event : batch.events) {
    std::string frame = net::FormatSseEvent(event);
    // Past the cap the rest is pulled again next time; a first event alone may pass it.
    if (!storage->empty() && storage->size() + frame.size() > max_bytes) break;
    storage->append(frame);
    frames.last_id = event.id;
  }
  // Finished only when every event of the batch was taken.
  frames.finished =
      batch.finished && (batch.events.empty() || frames.last_id == batch.events.back().id);
  frames.bytes = *storage;
  frames.storage = std::move(storage);
  return frames;
}

// ---- MemoryEventSource ----

class MemoryEventSource::Subscription final : public EventSubscription {
 public:
  Subscription(MemoryEventSource* source, size_t key) : source_(source), key_(key) {}
  ~Subscription() override { source_->Unwatch(key_); }

 private:
  MemoryEventSource* source_;
  size_t key_;
};

std::string MemoryEventSource::Append(std::string event, std::string data) {
  std::lock_guard lock(mutex_);
  std::string id = std::to_string(events_.size() + 1);
  events_.push_back({id, std::move(event), std::move(data)});
  NotifyAll();
  return id;
}

void MemoryEventSource::Finish() {
  std::lock_guard lock(mutex_);
  finished_ = true;
  NotifyAll();
}

size_t MemoryEventSource::size() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

SseBatch MemoryEventSource::NextEvents(const std::string& after_id, size_t max_events) {
  size_t after = 0;  // ids are 1-based positions; "" or garbage start from the beginning
  std::from_chars(after_id.data(), after_id.data() + after_id.size(), after);
  std::lock_guard lock(mutex_);
  SseBatch batch;
  for (size_t i = after; i < events_.size() && batch.events.size() < max_events; ++i) {
    batch.events.push_back(events_[i]);
  }
  batch.finished = finished_ && after + batch.events.size() >= events_.size();
  return batch;
}

std::unique_ptr<EventSubscription> MemoryEventSource::Watch(std::function<void()> notify) {
  std::lock_guard lock(mutex_);
  size_t key = next_key_++;
  watchers_.emplace_back(key, std::move(notify));
  return std::make_unique<Subscription>(this, key);
}

void MemoryEventSource::NotifyAll() {
  // Called with mutex_ held, so Unwatch (which takes it) cannot return while a notify runs.
  for (auto& [key, notify] : watchers_) notify();
}

void MemoryEventSource::Unwatch(size_t key) {
  std::lock_guard lock(mutex_);
  std::erase_if(watchers_, [key](const auto& w) { return w.first == key; });
}

}  // namespace baton::webapi
