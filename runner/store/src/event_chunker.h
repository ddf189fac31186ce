// EventChunker: packs a build's events into rows of build_event_chunks. Each build being written
// has one open chunk (kept in memory, ~chunk_bytes: up to half more, Add) that grows until it is
// full; the row is inserted once and then updated in place, so readers see every committed event.
// Each saved body is compressed (chunk_compression.h).
//
// Thread-compatible: used only under the store's writer mutex.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "chunk_compression.h"
#include "event_codec.h"
#include "event_writer.h"
#include "sql_db.h"

namespace baton::runner::sql {

class EventChunker {
 public:
  explicit EventChunker(size_t chunk_bytes) : chunk_bytes_(chunk_bytes) {}

  // Writes one build's queued events (in seq order) inside the caller's transaction. On failure
  // the caller rolls back and calls Forget(build_id).
  Status Write(Connection& conn, Id build_id, const std::vector<const QueuedEvent*>& items);
  // Drops the open chunk of a finished build (its row stays).
  void Forget(Id build_id) { open_.erase(build_id); }
  // After a failed transaction: the in-memory chunks may not match the database any more.
  void Reset() { open_.clear(); }
  // Frees the compression context (~0.3 MB once used); the next Write makes it again.
  void ReleaseMemory() { compressor_.Release(); }

 private:
  struct OpenChunk {
    int64_t row_id = 0;  // 0 until inserted
    int64_t first_seq = 0;
    int64_t last_seq = 0;
    int64_t count = 0;
    std::string body;
    ChunkEncoder encoder;
    bool dirty = false;
  };

  Status Save(Connection& conn, Id build_id, OpenChunk& chunk);
  // Adds one event to the build's open chunk, saving the chunk first when it is full.
  Status Add(Connection& conn, Id build_id, OpenChunk*& chunk, int64_t seq, SystemTime time,
             std::string_view origin, std::string_view type, std::string_view stream,
             std::string_view payload);

  const size_t chunk_bytes_;
  ChunkCompressor compressor_;
  std::unordered_map<Id, OpenChunk> open_;
};

}  // namespace baton::runner::sql
