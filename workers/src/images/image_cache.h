// ImageCache: the worker's unpacked task images, one directory per key (the image's digest and
// platform) holding rootfs/ and metadata.json, so a second task on the same image starts without
// pulling or unpacking again. A fill in progress is shared: callers asking for the same key wait
// for the one filling it. Entries are filled in a temporary directory and renamed into place, so
// a crash never leaves a half-unpacked entry. Tasks mount the rootfs read-only.
//
// Not yet: collecting unused entries by age and size (each hit touches the entry's mtime for
// that).
//
// Thread-safety: all methods may be called from any thread (process-wide locks per entry).
#pragma once

#include <functional>
#include <string>

#include "baton/common/status.h"

namespace baton::workers {

class ImageCache {
 public:
  explicit ImageCache(std::string dir);

  // The directory of `key` (made of [a-z0-9._-]), filled by `fill(dir)` when absent. `hit` says
  // whether it was there already.
  Result<std::string> Entry(const std::string& key,
                            const std::function<Status(const std::string& dir)>& fill, bool* hit);

 private:
  std::string dir_;
};

}  // namespace baton::workers
