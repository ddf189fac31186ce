#include "baton/net/sse.h"

#include <algorithm>
#include <charconv>

namespace baton::net {

namespace {

// `text` with CR and LF replaced by spaces, so a field cannot inject another line.
std::string SingleLine(std::string_view text) {
  std::string out(text);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

void AppendDataLines(std::string_view data, std::string* out) {
  size_t start = 0;
  while (true) {
    size_t end = data.find_first_of("\r\n", start);
    out->append("data: ").append(data.substr(start, end - start)).append("\n");
    if (end == std::string_view::npos) break;
    start = end + (data.compare(end, 2, "\r\n") == 0 ? 2 : 1);
  }
}

}  // namespace

std::string FormatSseEvent(const SseEvent& event) {
  std::string out;
  out.reserve(event.data.size() + event.id.size() + event.event.size() + 24);
  if (!event.id.empty()) out.append("id: ").append(SingleLine(event.id)).append("\n");
  if (!event.event.empty()) out.append("event: ").append(SingleLine(event.event)).append("\n");
  AppendDataLines(event.data, &out);
  out.append("\n");
  return out;
}

std::string FormatSseComment(std::string_view text) { return ": " + SingleLine(text) + "\n\n"; }

// ---- SseParser ----

SseParser::SseParser(EventCallback on_event, CommentCallback on_comment)
    : on_event_(std::move(on_event)), on_comment_(std::move(on_comment)) {}

bool SseParser::Feed(std::string_view bytes) {
  // A line at a time (not a character at a time): a log stream is ~100 bytes per line.
  size_t i = 0;
  while (i < bytes.size()) {
    if (last_was_cr_ && bytes[i] == '\n') {  // the LF of a CRLF already handled at the CR
      last_was_cr_ = false;
      ++i;
      continue;
    }
    size_t end = i;
    while (end < bytes.size() && bytes[end] != '\n' && bytes[end] != '\r') ++end;
    if (end == bytes.size()) {
      line_.append(bytes.substr(i));
      last_was_cr_ = false;
      break;
    }
    last_was_cr_ = bytes[end] == '\r';
    bool go_on;
    if (line_.empty()) {
      go_on = ProcessLine(bytes.substr(i, end - i));
    } else {
      std::string line = std::move(line_);
      line_.clear();
      line.append(bytes.substr(i, end - i));
      go_on = ProcessLine(line);
    }
    if (!go_on) return false;
    i = end + 1;
  }
  return true;
}

bool SseParser::ProcessLine(std::string_view line) {
  if (line.empty()) return Dispatch();
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field.empty()) {
    if (on_comment_) on_comment_(value);
  } else if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    pending_.event = std::string(value);
  } else if (field == "id" && value.find('\0') == std::string_view::npos) {
    last_id_ = std::string(value);
  }
  return true;
}

bool SseParser::Dispatch() {
  SseEvent event = std::move(pending_);
  bool had_data = has_data_;
  pending_ = SseEvent();
  has_data_ = false;
  if (!had_data) return true;  // per spec an event without data is not dispatched
  event.id = last_id_;
  return on_event_(event);
}

}  // namespace baton::net
