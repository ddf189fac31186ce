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

class RootfsUnpacker {
 public:
  // REQUIRES: `root` is an existing directory.
  explicit RootfsUnpacker(std::string root);

  // Applies one layer's bytes. `name` ("layer 2 (sha256:…)") prefixes errors.
  Status Apply(std::string_view blob, const std::string& name);

  // Entries skipped because the host refused them (device nodes without the right).
  int skipped() const { return skipped_; }

 private:
  class Layer;
  std::string root_;
  int skipped_ = 0;
};

}  // namespace baton::workers::resources
