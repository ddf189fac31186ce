// The byte layout of a chunk of build events (one build_event_chunks.body).
//
// Events follow each other; each is:
//   flags (1 byte: bit0 = same origin as the previous event, bit1 = same type, bit2 = same stream)
//   varint seq delta from the previous event (the first event's delta is from 0)
//   zigzag varint time delta in ms from the previous event (the first from 0)
//   [varint length + bytes] for origin, type, stream — each only when not "same"
//   varint payload length + payload bytes
// A 100-byte log line thus costs ~104 bytes. Pure functions/values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/runner/store_types.h"

namespace baton::runner::sql {

// Appends events to one chunk body, remembering the previous event for the deltas.
class ChunkEncoder {
 public:
  void Append(const BuildEvent& event, std::string& body) {
    Append(event.seq, event.time, event.origin, event.type, event.stream, event.payload, body);
  }
  void Append(int64_t seq, SystemTime time, std::string_view origin, std::string_view type,
              std::string_view stream, std::string_view payload, std::string& body);

 private:
  int64_t prev_seq_ = 0;
  int64_t prev_time_ms_ = 0;
  std::string prev_origin_;
  std::string prev_type_;
  std::string prev_stream_;
};

// Decodes a whole chunk body. A malformed body is kIoError.
Result<std::vector<BuildEvent>> DecodeChunk(std::string_view body);

}  // namespace baton::runner::sql
