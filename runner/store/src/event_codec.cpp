#include "event_codec.h"

#include <limits>

namespace baton::runner::sql {
namespace {

constexpr uint8_t kSameOrigin = 1;
constexpr uint8_t kSameType = 2;
constexpr uint8_t kSameStream = 4;

void PutVarint(uint64_t value, std::string& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Differences and sums in wrapping (unsigned) arithmetic: a damaged body may hold any delta, and
// int64_t overflow would be undefined.
uint64_t Minus(int64_t a, int64_t b) { return static_cast<uint64_t>(a) - static_cast<uint64_t>(b); }
int64_t Plus(int64_t a, uint64_t delta) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + delta);
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

void PutString(std::string_view s, std::string& out) {
  PutVarint(s.size(), out);
  out.append(s);
}

// Reads from a body, remembering whether anything was out of bounds.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }
  bool failed() const { return failed_; }

  uint8_t Byte() {
    if (pos_ >= data_.size()) return Fail(), 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = Byte();
      value |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80) || failed_) return value;
    }
    return Fail(), 0;
  }
  std::string String() {
    uint64_t size = Varint();
    if (failed_ || size > data_.size() - pos_) return Fail(), std::string();
    std::string s(data_.substr(pos_, size));
    pos_ += size;
    return s;
  }

 private:
  void Fail() {
    failed_ = true;
    pos_ = data_.size();
  }
  std::string_view data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace

void ChunkEncoder::Append(int64_t seq, SystemTime time, std::string_view origin,
                          std::string_view type, std::string_view stream, std::string_view payload,
                          std::string& body) {
  int64_t time_ms = ToUnixMillis(time);
  uint8_t flags = (origin == prev_origin_ ? kSameOrigin : 0) |
                  (type == prev_type_ ? kSameType : 0) | (stream == prev_stream_ ? kSameStream : 0);
  body.push_back(static_cast<char>(flags));
  PutVarint(Minus(seq, prev_seq_), body);
  PutVarint(ZigZag(static_cast<int64_t>(Minus(time_ms, prev_time_ms_))), body);
  if (!(flags & kSameOrigin)) PutString(origin, body);
  if (!(flags & kSameType)) PutString(type, body);
  if (!(flags & kSameStream)) PutString(stream, body);
  PutString(payload, body);
  prev_seq_ = seq;
  prev_time_ms_ = time_ms;
  if (!(flags & kSameOrigin)) prev_origin_ = origin;
  if (!(flags & kSameType)) prev_type_ = type;
  if (!(flags & kSameStream)) prev_stream_ = stream;
}

Result<std::vector<BuildEvent>> DecodeChunk(std::string_view body) {
  std::vector<BuildEvent> events;
  Reader in(body);
  BuildEvent prev;
  int64_t prev_time_ms = 0;
  while (!in.done()) {
    BuildEvent event;
    uint8_t flags = in.Byte();
    event.seq = Plus(prev.seq, in.Varint());
    prev_time_ms = Plus(prev_time_ms, static_cast<uint64_t>(UnZigZag(in.Varint())));
    // SystemTime counts nanoseconds in an int64_t: a time beyond ~292 years from 1970 is damage.
    constexpr int64_t kMaxMillis = std::numeric_limits<int64_t>::max() / 1'000'000;
    if (prev_time_ms > kMaxMillis || prev_time_ms < -kMaxMillis) {
      return IoError("database: a build event chunk is corrupt (a time out of range)");
    }
    event.time = FromUnixMillis(prev_time_ms);
    event.origin = (flags & kSameOrigin) ? prev.origin : in.String();
    event.type = (flags & kSameType) ? prev.type : in.String();
    event.stream = (flags & kSameStream) ? prev.stream : in.String();
    event.payload = in.String();
    if (in.failed()) return IoError("database: a build event chunk is corrupt");
    prev.seq = event.seq;
    prev.origin = event.origin;
    prev.type = event.type;
    prev.stream = event.stream;
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace baton::runner::sql
