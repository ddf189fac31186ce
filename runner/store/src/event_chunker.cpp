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

Status EventChunker::Write(Connection& conn, Id build_id,
                           const std::vector<const BuildEvent*>& events) {
  OpenChunk& chunk = open_[build_id];
  for (const BuildEvent* event : events) {
    if (!chunk.body.empty() && chunk.body.size() + event->payload.size() > chunk_bytes_) {
      BATON_RETURN_IF_ERROR(Save(conn, build_id, chunk));
      chunk = OpenChunk();
    }
    if (chunk.count == 0) chunk.first_seq = event->seq;
    chunk.encoder.Append(*event, chunk.body);
    chunk.last_seq = event->seq;
    ++chunk.count;
    chunk.dirty = true;
  }
  return Save(conn, build_id, chunk);
}

}  // namespace baton::runner::sql
