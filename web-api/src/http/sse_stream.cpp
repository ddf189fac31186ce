// The event-stream half of Connection: headers, the pull loop, keep-alives. See sse.h for the
// buffering design.
#include "baton/common/logging.h"
#include "connection.h"

namespace baton::webapi {

namespace {

using SteadyClock = std::chrono::steady_clock;

// NextFrames, with a throwing source turned into an error.
std::optional<SseFrames> Pull(EventSource& source, const std::string& after, size_t max_events,
                              size_t max_bytes) {
  try {
    return source.NextFrames(after, max_events, max_bytes);
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
    std::optional<SseFrames> frames =
        Pull(source, after_id, options.sse_max_batch_events, options.sse_max_batch_bytes);
    if (!frames) co_return false;
    if (!frames->bytes.empty()) {
      // frames->storage keeps the bytes alive (other streams may be writing them too).
      if (!co_await WriteChunk(frames->bytes)) co_return false;
      after_id = std::move(frames->last_id);
      next_keepalive = SteadyClock::now() + options.sse_keepalive_interval;
      continue;
    }
    if (frames->finished) break;
    if (waker_->TakePending()) continue;
    if (co_await waker_->WaitUntil(next_keepalive)) {
      if (!co_await WriteChunk(net::FormatSseComment("keep-alive"))) co_return false;
      next_keepalive = SteadyClock::now() + options.sse_keepalive_interval;
    }
  }
  co_return true;
}

asio::awaitable<bool> Connection::WriteChunk(std::string_view bytes) {
  core_->NoteQueued(bytes.size());
  beast::error_code ec;
  stream_.expires_after(core_->options.write_timeout);
  co_await asio::async_write(stream_, http::make_chunk(asio::buffer(bytes.data(), bytes.size())),
                             Redirect(ec));
  core_->stream_bytes_queued -= bytes.size();
  co_return !ec;
}

}  // namespace baton::webapi
