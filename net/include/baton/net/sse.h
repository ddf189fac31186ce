// Server-sent events (text/event-stream): the event value and the wire format, both ways.
// Servers format events with FormatSseEvent; clients parse a stream with SseParser. The server
// side (sources, streaming) is web-api's (baton/webapi/sse.h).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace baton::net {

// One event. `id` and `event` must not contain line breaks (they are replaced by spaces when
// sent); `data` may (it is sent as several `data:` lines and arrives with '\n' between them).
struct SseEvent {
  std::string id;
  std::string event;  // empty = the default "message" type
  std::string data;

  bool operator==(const SseEvent&) const = default;
};

// The wire form of one event: "id: ..\nevent: ..\ndata: ..\n\n" (empty fields omitted).
std::string FormatSseEvent(const SseEvent& event);
// A comment frame (": text\n\n"), ignored by clients; used as keep-alive.
std::string FormatSseComment(std::string_view text);

// Incremental text/event-stream parser (the client side, per the WHATWG rules: lines end in
// \n, \r\n or \r; "field: value"; a blank line dispatches; comments start with ':'). Feed it
// bytes as they arrive. Not thread-safe.
class SseParser {
 public:
  // Called per dispatched event; return false to stop parsing (Feed then returns false too).
  using EventCallback = std::function<bool(const SseEvent&)>;
  // Called per comment line (without the leading ':' and one optional space).
  using CommentCallback = std::function<void(std::string_view)>;

  explicit SseParser(EventCallback on_event, CommentCallback on_comment = nullptr);
  // Returns false once the event callback has returned false.
  bool Feed(std::string_view bytes);

 private:
  bool ProcessLine(std::string_view line);
  bool Dispatch();

  EventCallback on_event_;
  CommentCallback on_comment_;
  std::string line_;
  bool last_was_cr_ = false;
  SseEvent pending_;
  bool has_data_ = false;
  std::string last_id_;
};

}  // namespace baton::net
