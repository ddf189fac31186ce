#include "baton/webapi/memory_release.h"

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace baton::webapi {

void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);  // every arena, not only the main heap's top (what free() already returns)
#endif
}

void MapLargeBlocksAlways() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);  // glibc's default, now fixed (no dynamic raise)
#endif
}

void CapMallocArenas(int arenas) {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, arenas);
#else
  (void)arenas;
#endif
}

MemoryRelease::MemoryRelease(boost::asio::io_context& io, std::function<bool()> busy,
                             std::chrono::milliseconds interval, std::function<void()> trim)
    : timer_(io), busy_(std::move(busy)), interval_(interval), trim_(std::move(trim)) {}

void MemoryRelease::Arm() {
  if (armed_) return;  // one look pending is enough, however many builds finish meanwhile
  armed_ = true;
  Schedule();
}

void MemoryRelease::Stop() {
  armed_ = false;
  timer_.cancel();
}

void MemoryRelease::Schedule() {
  timer_.expires_after(interval_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && armed_) Look();
  });
}

void MemoryRelease::Look() {
  // While builds run or streams are open the memory is likely to be used again: look later.
  if (busy_()) {
    Schedule();
    return;
  }
  armed_ = false;
  trim_();
  ++trims_;
}

}  // namespace baton::webapi
