// ImageCache: the worker's unpacked task images, one directory per key (the image's digest and
// platform) holding rootfs/ and metadata.json, so a second task on the same image starts without
// pulling or unpacking again. A fill in progress is shared: callers asking for the same key wait
// for the one filling it. Entries are filled in a temporary directory and renamed into place, so
// a crash never leaves a half-unpacked entry. Tasks never write an entry: each sees its rootfs
// under a writable layer of its own (sandbox/image_layer.h), or read-only where it cannot.
//
// Unused entries are collected: those unused for longer than `max_age`, then the least recently
// used until the entries together fit in `max_bytes`. An entry a running step holds (Hold) or
// used within `min_idle` (fetched for a task that has not started yet) is never removed. Each
// use touches the entry's mtime; its size is measured once, when it is filled.
//
// Thread-safety: all methods may be called from any thread (process-wide locks per entry; holds
// are flock(2) locks, so they also keep other processes sharing the directory from collecting).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "baton/common/status.h"

namespace baton::workers {

struct ImageCacheLimits {
  std::chrono::seconds max_age{7 * 24 * 3600};  // unused for longer: removed (0: no age limit)
  uint64_t max_bytes = 0;                       // all entries together (0: no size limit)
  std::chrono::seconds min_idle{600};           // used more recently: never removed
};

// What one collection did.
struct ImageCacheCollection {
  std::vector<std::string> removed;  // keys
  uint64_t freed_bytes = 0;
  uint64_t kept_bytes = 0;  // what the remaining entries take
};

class ImageCache {
 public:
  explicit ImageCache(std::string dir, ImageCacheLimits limits = {});

  // The directory of `key` (made of [a-z0-9._-]), filled by `fill(dir)` when absent. `hit` says
  // whether it was there already.
  Result<std::string> Entry(const std::string& key,
                            const std::function<Status(const std::string& dir)>& fill, bool* hit);

  // A step's use of an entry: while it lives, Collect leaves the entry alone. Movable.
  class Hold {
   public:
    Hold() = default;
    Hold(int fd, std::string entry) : fd_(fd), entry_(std::move(entry)) {}
    Hold(Hold&& o) noexcept : fd_(o.fd_), entry_(std::move(o.entry_)) { o.fd_ = -1; }
    Hold& operator=(Hold&& o) noexcept;
    ~Hold();
    bool holds() const { return fd_ >= 0; }

   private:
    void Release();

    int fd_ = -1;  // the entry's .in-use file, flock'd shared
    std::string entry_;
  };
  // Holds the entry `path` lies in (e.g. an entry's rootfs/, resolved through links); an empty
  // Hold when `path` is not in this cache. An error when the entry was collected meanwhile.
  Result<Hold> HoldPath(const std::string& path);

  // Removes what `limits` says is too old or too much (see above).
  Result<ImageCacheCollection> Collect();

  const std::string& dir() const { return dir_; }

 private:
  bool RemoveIfUnused(const std::string& entry);

  std::string dir_;
  ImageCacheLimits limits_;
};

}  // namespace baton::workers
