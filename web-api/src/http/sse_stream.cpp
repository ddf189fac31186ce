// The event-stream half of Connection: headers, the pull loop, keep-alives. See sse.h for the
// buffering design.
#include "baton/common/logging.h"
#include "connection.h"

namespace baton::webapi {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Formats events until adding one would pass `cap` (the first always goes), advancing
// `*after_id` to the last event formatted. Events past the cap are pulled again next time.
std::string FormatBatch(const std::vector<SseEvent>& events, size_t cap, std::string* after_id) {
  std::string out;
  for (const SseEvent& event : events) {
    std::string frame = net::FormatSseEvent(event);
    if (!out.empty() && out.size() + frame.size() > cap) break;
    out += frame;
    *after_id = event.id;
  }
  return out;
}

// NextEvents, with a throwing source turned into an error.
std::optional<SseBatch> Pull(EventSource& source, const std::string& after, size_t max) {
  try {
    return source.NextEvents(after, max);
  } catch (const std::exception& e) {
    ModuleLogger("webapi")->error("event source failed after id '{}': {}", after, e.what());
    return std::nullopt;
  }
}

}  // namespace

void StreamWaker::Notify() {
  // Coalesced: while a notification is pending the stream pulls before it waits again, so a
  // burst of appends costs one post, not one per event.
  if (pending_.exchange(true)) return;
  std::lock_guard lock(mutex_);
  if (closed_) return;
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
}

void StreamWaker::Close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

bool StreamWaker::TakePending() { return pending_.exchange(false); }

asio::awaitable<bool> StreamWaker::WaitUntil(SteadyClock::time_point deadline) {
  timer_.expires_at(deadline);
  beast::error_code ec;
  co_await timer_.async_wait(Redirect(ec));
  co_return !ec;
}

asio::awaitable<bool> Connection::ServeStream(Response& response, unsigned version,
                                              bool keep_alive) {
  http::response<http::empty_body> head{http::status::ok, version};
  head.set(http::field::server, "baton");
  for (const auto& [name, value] : response.headers.fields()) head.insert(name, value);
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");
  head.chunked(true);
  head.keep_alive(keep_alive);
  http::response_serializer<http::empty_body> serializer(head);
  beast::error_code ec;
  stream_.expires_after(core_->options.write_timeout);
  co_await http::async_write_header(stream_, serializer, Redirect(ec));
  if (ec) co_return false;

  phase_ = Phase::kStreaming;
  ++core_->open_streams;
  waker_ = std::make_shared<StreamWaker>(stream_.get_executor());
  std::shared_ptr<EventSource> source = std::move(response.event_source);
  auto subscription = source->Watch([weak = std::weak_ptr<StreamWaker>(waker_)] {
    if (auto waker = weak.lock()) waker->Notify();
  });
  bool ended_cleanly = co_await PumpEvents(*source, std::move(response.resume_after));
  waker_->Close();
  subscription.reset();
  waker_.reset();
  --core_->open_streams;
  phase_ = Phase::kBusy;
  if (!ended_cleanly) co_return false;
  stream_.expires_after(core_->options.write_timeout);
  co_await asio::async_write(stream_, http::make_chunk_last(), Redirect(ec));
  co_return !ec && keep_alive && !core_->stopping;
}

// Pulls and writes until the source is finished (true), the server stops (true) or a write or
// the source fails (false).
asio::awaitable<bool> Connection::PumpEvents(EventSource& source, std::string after_id) {
  const ServerOptions& options = core_->options;
  SteadyClock::time_point next_keepalive = SteadyClock::now() + options.sse_keepalive_interval;
  while (!core_->stopping) {
    waker_->TakePending();
    std::optional<SseBatch> batch = Pull(source, after_id, options.sse_max_batch_events);
    if (!batch) co_return false;
    if (!batch->events.empty()) {
      if (!co_await WriteChunk(FormatBatch(batch->events, options.sse_max_batch_bytes, &after_id)))
        co_return false;
      next_keepalive = SteadyClock::now() + options.sse_keepalive_interval;
      continue;
    }
    if (batch->finished) break;
    if (waker_->TakePending()) continue;
    if (co_await waker_->WaitUntil(next_keepalive)) {
      if (!co_await WriteChunk(net::FormatSseComment("keep-alive"))) co_return false;
      next_keepalive = SteadyClock::now() + options.sse_keepalive_interval;
    }
  }
  co_return true;
}

asio::awaitable<bool> Connection::WriteChunk(const std::string& bytes) {
  core_->NoteQueued(bytes.size());
  beast::error_code ec;
  stream_.expires_after(core_->options.write_timeout);
  co_await asio::async_write(stream_, http::make_chunk(asio::buffer(bytes)), Redirect(ec));
  core_->stream_bytes_queued -= bytes.size();
  co_return !ec;
}

}  // namespace baton::webapi
