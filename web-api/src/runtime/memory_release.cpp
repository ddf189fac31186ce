#include "baton/webapi/memory_release.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

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

void ReexecWithSmallThreadCaches() {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
  // GLIBC_TUNABLES as the user gave it, for after the execution: "" when unset, else "=" and it.
  static constexpr char kBefore[] = "BATON_GLIBC_TUNABLES_BEFORE";
  static constexpr char kTunables[] = "GLIBC_TUNABLES";
  if (const char* before = std::getenv(kBefore)) {  // back in: glibc has read it
    const std::string was = before;
    if (was.empty()) {
      ::unsetenv(kTunables);
    } else {
      ::setenv(kTunables, was.c_str() + 1, 1);
    }
    ::unsetenv(kBefore);
    return;
  }
  const char* given = std::getenv(kTunables);
  const std::string tunables = given != nullptr ? given : "";
  if (tunables.find("glibc.malloc.tcache") != std::string::npos) return;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string cmdline{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<char*> argv;
  std::vector<std::string> words;
  for (size_t at = 0; at < cmdline.size();) {
    const size_t end = cmdline.find('\0', at);
    words.push_back(cmdline.substr(at, end == std::string::npos ? std::string::npos : end - at));
    at = end == std::string::npos ? cmdline.size() : end + 1;
  }
  if (words.empty()) return;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  ::setenv(kBefore, given != nullptr ? ("=" + tunables).c_str() : "", 1);
  const std::string limited =
      (tunables.empty() ? "" : tunables + ":") + "glibc.malloc.tcache_max=64";
  ::setenv(kTunables, limited.c_str(), 1);
  std::fflush(nullptr);
  ::execv("/proc/self/exe", argv.data());
  // Not executed (no /proc, a binary replaced under us): go on as we are, the environment as given.
  if (given != nullptr) {
    ::setenv(kTunables, tunables.c_str(), 1);
  } else {
    ::unsetenv(kTunables);
  }
  ::unsetenv(kBefore);
#endif
}

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
