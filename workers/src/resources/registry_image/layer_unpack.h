// Unpacks image layers (tar, gzip- or zstd-compressed; read with libarchive) onto a root
// directory in order, as container runtimes do: whiteouts (`.wh.<name>`) delete what lower
// layers made, opaque markers (`.wh..wh..opq`) empty a directory of lower layers' entries,
// owners, modes and times are kept, hard and symbolic links are made as recorded.
//
// Nothing is ever written outside the root: every path is resolved with openat2's
// RESOLVE_IN_ROOT, so a symlink an image holds (`etc -> /etc`, `x -> ../../..`) resolves inside
// the root as it would in the container, and entries with `..` are refused.
//
// Thread-safety: one RootfsUnpacker per root and thread.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"

namespace baton::workers::resources {

// How a layer is compressed, as its media type says. Only that decompressor is enabled (plain tar
// is always read): libarchive's other filters (xz, bzip2, lz4, ...) and the external programs it
// would otherwise start from $PATH (lrzip, lzop, grzip, ...) never see a layer's bytes.
enum class LayerCompression { kNone, kGzip, kZstd };

class RootfsUnpacker {
 public:
  // REQUIRES: `root` is an existing directory.
  explicit RootfsUnpacker(std::string root);

  // Applies one layer's bytes, compressed as `compression` says (or plain). `name`
  // ("layer 2 (sha256:…)") prefixes errors.
  Status Apply(std::string_view blob, LayerCompression compression, const std::string& name);
  // Applies the layer in the file `path`, read as it is unpacked (never loaded whole).
  Status ApplyFile(const std::string& path, LayerCompression compression, const std::string& name);

  // Entries skipped because the host refused them (device nodes without the right).
  int skipped() const { return skipped_; }

 private:
  class Layer;
  std::string root_;
  int skipped_ = 0;
};

}  // namespace baton::workers::resources
