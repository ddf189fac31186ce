#include "event_chunker.h"

namespace baton::runner::sql {

Status EventChunker::Save(Connection& conn, Id build_id, OpenChunk& chunk) {
  if (!chunk.dirty) return Status::Ok();
  const bool insert = chunk.row_id == 0;
  BATON_ASSIGN_OR_RETURN(
      auto stmt,
      conn.Prepare(insert ? "INSERT INTO build_event_chunks "
                            "(last_seq, event_count, body, build_id, first_seq) "
                            "VALUES (?, ?, ?, ?, ?)"
                          : "UPDATE build_event_chunks SET last_seq = ?, event_count = ?, "
                            "body = ? WHERE id = ?"));
  stmt->BindInt(1, chunk.last_seq);
  stmt->BindInt(2, chunk.count);
  stmt->BindBlob(3, compressor_.Pack(chunk.body));
  stmt->BindInt(4, insert ? build_id : chunk.row_id);
  if (insert) stmt->BindInt(5, chunk.first_seq);
  BATON_RETURN_IF_ERROR(stmt->Run());
  if (insert) chunk.row_id = conn.LastInsertRowId();
  chunk.dirty = false;
  return Status::Ok();
}

Status EventChunker::Add(Connection& conn, Id build_id, OpenChunk*& chunk, int64_t seq,
                         SystemTime time, std::string_view origin, std::string_view type,
                         std::string_view stream, std::string_view payload) {
  // A chunk under half full takes the next event even past chunk_bytes_: a run of lines of
  // nearly a chunk after a short one (a read's last line, cut from its run at 64 KiB) would
  // leave a chunk of that one short event (W4: 262 of 570 chunks, each a row written and
  // compressed). A chunk so stays within 1.5 chunk_bytes_, or half that plus one larger event.
  if (chunk->body.size() >= chunk_bytes_ / 2 &&
      chunk->body.size() + payload.size() > chunk_bytes_) {
    BATON_RETURN_IF_ERROR(Save(conn, build_id, *chunk));
    *chunk = OpenChunk();
  }
  if (chunk->count == 0) chunk->first_seq = seq;
  chunk->encoder.Append(seq, time, origin, type, stream, payload, chunk->body);
  chunk->last_seq = seq;
  ++chunk->count;
  chunk->dirty = true;
  return Status::Ok();
}

Status EventChunker::Write(Connection& conn, Id build_id,
                           const std::vector<const QueuedEvent*>& items) {
  OpenChunk* chunk = &open_[build_id];
  for (const QueuedEvent* item : items) {
    if (const LogLines* lines = item->lines.get()) {
      for (size_t i = 0; i < lines->size(); ++i) {
        BATON_RETURN_IF_ERROR(Add(conn, build_id, chunk, item->event.seq + static_cast<int64_t>(i),
                                  lines->time, lines->origin, "log", lines->stream,
                                  lines->line(i)));
      }
      continue;
    }
    const BuildEvent& e = item->event;
    BATON_RETURN_IF_ERROR(
        Add(conn, build_id, chunk, e.seq, e.time, e.origin, e.type, e.stream, e.payload));
  }
  return Save(conn, build_id, *chunk);
}

}  // namespace baton::runner::sql
