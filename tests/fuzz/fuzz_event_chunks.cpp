// libFuzzer target: arbitrary bytes as a stored build_event_chunks.body (a database damaged on
// disk or written by another version), read as the store reads it: UnpackChunk (a zstd frame or
// a body kept as is), then DecodeChunk. Beside the memory errors the sanitizers catch, it checks
// the codec's promises: whatever decodes encodes back to a body that decodes to the same events,
// and any body stored through ChunkCompressor::Pack unpacks to itself.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "chunk_compression.h"
#include "event_codec.h"

namespace {

using baton::runner::BuildEvent;
namespace sql = baton::runner::sql;

[[noreturn]] void Broken(const char* what) {
  std::fprintf(stderr, "fuzz_event_chunks: %s\n", what);
  std::abort();
}

bool Same(const BuildEvent& a, const BuildEvent& b) {
  return a.seq == b.seq && a.time == b.time && a.origin == b.origin && a.type == b.type &&
         a.stream == b.stream && a.payload == b.payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string scratch;
  auto body = sql::UnpackChunk(input, scratch);
  if (body.ok()) {
    auto events = sql::DecodeChunk(*body);
    if (events.ok()) {
      std::string again;
      sql::ChunkEncoder encoder;
      for (const BuildEvent& e : *events) encoder.Append(e, again);
      auto decoded = sql::DecodeChunk(again);
      if (!decoded.ok() || decoded->size() != events->size()) Broken("re-encoded events differ");
      for (size_t i = 0; i < events->size(); ++i) {
        if (!Same((*decoded)[i], (*events)[i])) Broken("a re-encoded event differs");
      }
    }
  }
  // The input as a body to store: what Pack gives must unpack to the input.
  sql::ChunkCompressor compressor;
  const std::string stored(compressor.Pack(input));
  std::string scratch2;
  auto unpacked = sql::UnpackChunk(stored, scratch2);
  // A body that itself starts like a zstd frame and does not shrink is stored as is and then
  // read as a frame: the encoder never writes one (its first byte is a flags byte, 0-7).
  const bool looks_compressed =
      size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd;
  if (!looks_compressed && (!unpacked.ok() || *unpacked != input))
    Broken("Pack does not round-trip");
  return 0;
}
