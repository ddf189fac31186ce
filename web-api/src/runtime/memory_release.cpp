#include "baton/webapi/memory_release.h"

#include <cerrno>  // program_invocation_short_name
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/prctl.h>
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

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
namespace {

// GLIBC_TUNABLES as the user gave it, kept across the execution: "" when unset, else "=" and it.
constexpr char kBefore[] = "BATON_GLIBC_TUNABLES_BEFORE";
constexpr char kTunables[] = "GLIBC_TUNABLES";

// GLIBC_TUNABLES back as kBefore says it was given, and kBefore gone.
void PutTunablesBack(const char* before) {
  if (*before == '\0') {
    ::unsetenv(kTunables);
  } else {
    ::setenv(kTunables, before + 1, 1);
  }
  ::unsetenv(kBefore);
}

}  // namespace
#endif

void ReexecWithSmallThreadCaches() {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
  if (const char* before = std::getenv(kBefore)) {  // back in: glibc has read the limit
    PutTunablesBack(std::string(before).c_str());   // a copy: unsetenv drops the original
    // Executed as /proc/self/exe, the process is named "exe" (ps, top, pgrep read that name):
    // the name of the program as started again, before any thread inherits it.
    ::prctl(PR_SET_NAME, program_invocation_short_name);
    return;
  }
  const char* given = std::getenv(kTunables);
  const std::string tunables = given != nullptr ? given : "";
  if (tunables.find("glibc.malloc.tcache") != std::string::npos) return;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string cmdline{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<char*> argv;  // into cmdline: each argument ends with its NUL
  for (size_t at = 0; at < cmdline.size(); at += std::strlen(cmdline.data() + at) + 1) {
    argv.push_back(cmdline.data() + at);
  }
  if (argv.empty()) return;
  argv.push_back(nullptr);
  const std::string before = given != nullptr ? "=" + tunables : "";
  ::setenv(kBefore, before.c_str(), 1);
  ::setenv(kTunables,
           ((tunables.empty() ? "" : tunables + ":") + "glibc.malloc.tcache_max=64").c_str(), 1);
  std::fflush(nullptr);
  ::execv("/proc/self/exe", argv.data());
  PutTunablesBack(before.c_str());  // not executed (no /proc, ...): on with glibc's defaults
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
