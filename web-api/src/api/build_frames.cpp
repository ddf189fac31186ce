#include "baton/webapi/build_frames.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "baton/common/clock.h"
#include "baton/common/logging.h"
#include "baton/net/sse.h"

namespace baton::webapi {
namespace {

void AppendInteger(int64_t value, std::string* out) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
  out->append(digits, end);
}

// `text` as nlohmann's dump() writes a JSON string. Printable ASCII other than '"' and '\\' is
// its own escape and '\n' is "\\n" (a log event's run of lines); anything else (other control
// characters, DEL, bytes >= 0x80, invalid UTF-8) is nlohmann's to escape, validate or reject.
void AppendJsonString(std::string_view text, std::string* out) {
  bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return (byte >= 0x20 && byte < 0x7f && byte != '"' && byte != '\\') || byte == '\n';
  });
  if (!plain) {
    out->append(nlohmann::json(text).dump());
    return;
  }
  out->push_back('"');
  for (size_t nl; (nl = text.find('\n')) != std::string_view::npos; text.remove_prefix(nl + 1)) {
    out->append(text.substr(0, nl));
    out->append("\\n");
  }
  out->append(text);
  out->push_back('"');
}

}  // namespace

SseEvent BuildEventToSse(const runner::BuildEvent& e) {
  nlohmann::json data = {{"seq", e.seq},   {"time", ToUnixMillis(e.time)}, {"origin", e.origin},
                         {"type", e.type}, {"stream", e.stream},           {"payload", e.payload}};
  return {std::to_string(e.seq), e.type, data.dump()};
}

void AppendBuildEventFrame(const runner::BuildEvent& e, std::string* out) {
  // FormatSseEvent's lines. The id is digits; the type goes on one line (CR and LF become
  // spaces); dump() leaves no raw line break in the data, so it is one data line. The JSON's
  // keys are in nlohmann's order (sorted), as BuildEventToSse's dump() writes them.
  out->append("id: ");
  AppendInteger(e.seq, out);
  if (!e.type.empty()) {
    size_t at = out->append("\nevent: ").size();
    out->append(e.type);
    std::replace_if(
        out->begin() + static_cast<std::ptrdiff_t>(at), out->end(),
        [](char c) { return c == '\n' || c == '\r'; }, ' ');
  }
  out->append("\ndata: {\"origin\":");
  AppendJsonString(e.origin, out);
  out->append(",\"payload\":");
  AppendJsonString(e.payload, out);
  out->append(",\"seq\":");
  AppendInteger(e.seq, out);
  out->append(",\"stream\":");
  AppendJsonString(e.stream, out);
  out->append(",\"time\":");
  AppendInteger(ToUnixMillis(e.time), out);
  out->append(",\"type\":");
  AppendJsonString(e.type, out);
  out->append("}\n\n");
}

BuildFrames::BuildFrames(size_t max_bytes, size_t run_events, size_t hard_max_bytes)
    : max_bytes_(max_bytes),
      run_events_(std::max<size_t>(1, run_events)),
      hard_max_bytes_(std::max(max_bytes, hard_max_bytes)) {}

BuildFrames::~BuildFrames() {
  ModuleLogger("webapi")->debug(
      "build frames: {} runs ({} events) formatted shared, {} ({} events) for one stream; "
      "at most {} bytes kept",
      counts_.shared_runs, counts_.shared_events, counts_.own_runs, counts_.own_events,
      counts_.peak_kept_bytes);
}

BuildFrames::Run BuildFrames::Format(const std::vector<runner::BuildEvent>& events) {
  Run run;
  auto bytes = std::make_shared<std::string>();
  size_t estimate = 0;  // ~130 bytes of ids, keys and numbers around an event's strings
  for (const runner::BuildEvent& e : events) {
    estimate += 130 + 2 * e.type.size() + e.origin.size() + e.stream.size() + e.payload.size();
  }
  bytes->reserve(estimate);
  run.seqs.reserve(events.size());
  run.ends.reserve(events.size());
  for (const runner::BuildEvent& event : events) {
    AppendBuildEventFrame(event, bytes.get());
    run.seqs.push_back(event.seq);
    run.ends.push_back(bytes->size());
  }
  run.bytes = std::move(bytes);
  return run;
}

SseFrames BuildFrames::Slice(const Run& run, size_t first, size_t max_events, size_t max_bytes) {
  size_t begin = first == 0 ? 0 : run.ends[first - 1];
  size_t last = first;  // the first event always goes, however large
  while (last + 1 < run.seqs.size() && last + 1 - first < max_events &&
         run.ends[last + 1] - begin <= max_bytes) {
    ++last;
  }
  SseFrames frames;
  frames.storage = run.bytes;
  frames.bytes = std::string_view(*run.bytes).substr(begin, run.ends[last] - begin);
  frames.last_id = std::to_string(run.seqs[last]);
  return frames;
}

uint64_t BuildFrames::AddStream() {
  std::lock_guard lock(mutex_);
  return ++next_stream_;
}

void BuildFrames::RemoveStream(uint64_t stream) {
  std::lock_guard lock(mutex_);
  positions_.erase(stream);
  Evict();
}

void BuildFrames::Place(uint64_t stream, int64_t after) {
  if (stream == 0) return;
  positions_[stream] = after;
  if (bytes_ > max_bytes_) Evict();  // the slowest may have moved on
}

std::optional<SseFrames> BuildFrames::Cached(int64_t after, size_t max_events, size_t max_bytes,
                                             uint64_t stream) {
  std::lock_guard lock(mutex_);
  Place(stream, after);
  return CachedLocked(after, max_events, max_bytes);
}

std::optional<SseFrames> BuildFrames::CachedLocked(int64_t after, size_t max_events,
                                                   size_t max_bytes) {
  if (runs_.empty() || after < from_ || after >= last_) return std::nullopt;
  // The run holding the first seq after `after`: the first run whose last seq is past it.
  auto run = std::find_if(runs_.begin(), runs_.end(),
                          [after](const Run& r) { return r.seqs.back() > after; });
  if (run == runs_.end()) return std::nullopt;
  size_t first = std::upper_bound(run->seqs.begin(), run->seqs.end(), after) - run->seqs.begin();
  return Slice(*run, first, max_events, max_bytes);
}

void BuildFrames::Keep(Run run, int64_t after) {
  if (runs_.empty()) from_ = after;
  last_ = run.seqs.back();
  bytes_ += run.bytes->size();
  counts_.peak_kept_bytes = std::max(counts_.peak_kept_bytes, bytes_);
  runs_.push_back(std::move(run));
  Evict();
}

void BuildFrames::Evict() {
  int64_t slowest = INT64_MAX;  // every registered stream has sent the seqs up to here
  for (const auto& [stream, after] : positions_) slowest = std::min(slowest, after);
  while (bytes_ > max_bytes_ && runs_.size() > 1 &&
         (bytes_ > hard_max_bytes_ || runs_.front().seqs.back() <= slowest)) {
    from_ = runs_.front().seqs.back();
    bytes_ -= runs_.front().bytes->size();
    runs_.pop_front();
  }
}

Result<SseFrames> BuildFrames::Next(int64_t after, size_t max_events, size_t max_bytes,
                                    const ReadEvents& read, uint64_t stream) {
  {
    std::unique_lock lock(mutex_);
    Place(stream, after);
    if (auto cached = CachedLocked(after, max_events, max_bytes)) return *cached;
    if (runs_.empty() || after == last_) {
      // At the front: read and format a whole run under the lock, so the streams waiting here
      // share it instead of reading it again.
      BATON_ASSIGN_OR_RETURN(auto events, read(after, static_cast<int>(run_events_)));
      if (events.empty()) return SseFrames{};
      Run run = Format(events);
      ++counts_.shared_runs;
      counts_.shared_events += events.size();
      SseFrames frames = Slice(run, 0, max_events, max_bytes);
      Keep(std::move(run), after);
      return frames;
    }
  }
  // Behind the cache or past it: this stream's own events, formatted for it alone.
  BATON_ASSIGN_OR_RETURN(auto events, read(after, static_cast<int>(max_events)));
  if (events.empty()) return SseFrames{};
  Run run = Format(events);
  {
    std::lock_guard lock(mutex_);
    ++counts_.own_runs;
    counts_.own_events += events.size();
  }
  return Slice(run, 0, max_events, max_bytes);
}

size_t BuildFrames::cached_bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

BuildFrames::Counts BuildFrames::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

}  // namespace baton::webapi
