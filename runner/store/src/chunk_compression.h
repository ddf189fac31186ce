// How a chunk of build events (event_codec.h's layout) is kept in build_event_chunks.body:
// compressed as one zstd frame when that is smaller and the body is not short (2 KiB or more,
// as PostgreSQL's TOAST compresses only rows over ~2 kB), else as is. Logs shrink ~7x (compiler and
// test output) and far more when repetitive, so a long log writes that much less through the
// database's journal and takes that much less room in the history (docs/benchmarks.md).
//
// A stored body tells its form by its first bytes: a zstd frame starts with the magic number
// 28 b5 2f fd, and an encoded chunk starts with its first event's flags byte (0-7), so bodies
// written before compression existed read as they are.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton::runner::sql {

// Compresses chunk bodies with one reused zstd context, made on the first Pack (a store that
// writes no log never loads libzstd) and freed by Release. Thread-compatible.
class ChunkCompressor {
 public:
  ChunkCompressor();
  ~ChunkCompressor();
  ChunkCompressor(const ChunkCompressor&) = delete;
  ChunkCompressor& operator=(const ChunkCompressor&) = delete;

  // The bytes to store for `body`: a view of its zstd frame (valid until the next call) when
  // that is smaller, else `body` itself.
  std::string_view Pack(std::string_view body);
  // Frees the context and the frame buffer (~0.3 MB and a chunk's size after a first Pack).
  void Release();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
  std::string frame_;
};

// The encoded chunk of a stored body: `stored` itself when it was kept as is, else its
// decompressed frame in `scratch`. A damaged frame, or one that claims more than
// kMaxChunkBytes, is kIoError.
Result<std::string_view> UnpackChunk(std::string_view stored, std::string& scratch);

// No chunk is written larger than this (event_chunk_bytes is 64 KiB by default; a chunk holds
// at most half that besides one event larger than a chunk), so a frame claiming more is damaged.
inline constexpr size_t kMaxChunkBytes = size_t{256} << 20;

}  // namespace baton::runner::sql
