#include "chunk_compression.h"

#include <zstd.h>

#include <memory>

namespace baton::runner::sql {
namespace {

// zstd's fastest regular level: ~550 MB/s compressing build logs on this machine, 2+ GB/s back.
constexpr int kLevel = 1;

// A body shorter than this is kept as is, as PostgreSQL compresses only rows over ~2 kB (TOAST's
// threshold). A frame's set-up is the cost of a short body (~40,000 instructions, ~10 us, for the
// ~500 bytes of a job's status and step events; the first one in a process also loads libzstd,
// ~0.3 ms on `baton run`'s path from one job to the next), and it would save at most a few hundred
// bytes of a 4 KiB page: the page is written whole either way. A build with any log passes it.
constexpr size_t kMinPackedBytes = 2048;

bool IsZstdFrame(std::string_view stored) {
  constexpr unsigned char kMagic[] = {0x28, 0xb5, 0x2f, 0xfd};
  if (stored.size() < sizeof(kMagic)) return false;
  for (size_t i = 0; i < sizeof(kMagic); ++i) {
    if (static_cast<unsigned char>(stored[i]) != kMagic[i]) return false;
  }
  return true;
}

}  // namespace

struct ChunkCompressor::Context {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ~Context() { ZSTD_freeCCtx(cctx); }
};

ChunkCompressor::ChunkCompressor() = default;
ChunkCompressor::~ChunkCompressor() = default;

void ChunkCompressor::Release() {
  ctx_.reset();
  std::string().swap(frame_);
}

std::string_view ChunkCompressor::Pack(std::string_view body) {
  if (body.size() < kMinPackedBytes) return body;
  if (!ctx_) ctx_ = std::make_unique<Context>();
  if (ctx_->cctx == nullptr) return body;  // out of memory: stored as is, still readable
  frame_.resize(ZSTD_compressBound(body.size()));
  const size_t n =
      ZSTD_compressCCtx(ctx_->cctx, frame_.data(), frame_.size(), body.data(), body.size(), kLevel);
  if (ZSTD_isError(n) || n >= body.size()) return body;  // stored as is: still readable
  return std::string_view(frame_.data(), n);
}

Result<std::string_view> UnpackChunk(std::string_view stored, std::string& scratch) {
  if (!IsZstdFrame(stored)) return stored;
  const unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxChunkBytes) {
    return IoError("database: a build event chunk is corrupt (its compressed frame is damaged)");
  }
  // One context per reading thread (~160 KB, made on its first compressed chunk).
  struct FreeDCtx {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
  };
  thread_local std::unique_ptr<ZSTD_DCtx, FreeDCtx> dctx(ZSTD_createDCtx());
  if (!dctx) return IoError("database: out of memory decompressing a build event chunk");
  scratch.resize(static_cast<size_t>(size));
  const size_t n =
      ZSTD_decompressDCtx(dctx.get(), scratch.data(), scratch.size(), stored.data(), stored.size());
  if (ZSTD_isError(n) || n != scratch.size()) {
    return IoError("database: a build event chunk is corrupt (" +
                   std::string(ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame") + ")");
  }
  return std::string_view(scratch);
}

}  // namespace baton::runner::sql
