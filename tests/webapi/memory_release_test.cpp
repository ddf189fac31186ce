// MemoryRelease: a finished build arms it; it trims once the server is quiet, waits while it is
// busy, and an idle server never wakes for it.
#include "baton/webapi/memory_release.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <string_view>
#include <thread>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "fakes/test_env.h"

namespace baton::webapi {
namespace {

using std::chrono::milliseconds;

TEST(MemoryRelease, BuildsEndingOnAQuietServerAreFollowedByOneTrimAndNothingMore) {
  boost::asio::io_context io;
  int trims = 0;
  MemoryRelease release(
      io, [] { return false; }, milliseconds(5), [&] { ++trims; });
  release.Arm();
  release.Arm();  // a second build ends before the look: still one look
  release.Arm();
  // run() returns once no work is left: the release disarmed itself after its trim.
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(io.stopped()) << "the release kept the loop busy after trimming";
  EXPECT_EQ(trims, 1);
  EXPECT_EQ(release.trims(), 1);
}

TEST(MemoryRelease, WhileBuildsRunOrStreamsAreOpenItWaitsAndTrimsOnceTheyEnd) {
  boost::asio::io_context io;
  int looks = 0, trims = 0;
  MemoryRelease release(
      io, [&] { return ++looks < 4; }, milliseconds(5), [&] { ++trims; });
  release.Arm();
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(looks, 4) << "three busy looks, then the quiet one";
  EXPECT_EQ(trims, 1);
}

TEST(MemoryRelease, AnIdleServerNeverWakesForIt) {
  boost::asio::io_context io;
  int trims = 0;
  MemoryRelease release(
      io, [] { return false; }, milliseconds(5), [&] { ++trims; });
  EXPECT_EQ(io.run_for(std::chrono::seconds(10)), 0u) << "a handler ran without a build";
  EXPECT_EQ(trims, 0);
}

TEST(MemoryRelease, StopCancelsAPendingLook) {
  boost::asio::io_context io;
  int trims = 0;
  MemoryRelease release(
      io, [] { return false; }, milliseconds(50), [&] { ++trims; });
  release.Arm();
  release.Stop();
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(trims, 0);
  release.Arm();  // armed again after a stop
  io.restart();
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(trims, 1);
}

#if defined(__GLIBC__)
// glibc maps a large block only when its arena cannot serve it from free memory it holds, which
// other tests in this process may have left; a block of several MiB it can hardly serve so.
TEST(MemoryRelease, LargeBlocksAreStillMappedAfterALargerOneWasFreed) {
  BATON_SKIP_IF_SANITIZED(
      "ASan's allocator replaces glibc's malloc: mallopt and mallinfo2 do not apply");
  MapLargeBlocksAlways();
  auto* big = static_cast<volatile char*>(std::malloc(16 << 20));
  big[0] = 1;
  std::free(const_cast<char*>(big));  // glibc alone would now map only blocks over 16 MiB
  size_t mapped = mallinfo2().hblks;
  auto* block = static_cast<volatile char*>(std::malloc(4 << 20));
  block[0] = 1;
  EXPECT_EQ(mallinfo2().hblks, mapped + 1) << "the block grew an arena";
  std::free(const_cast<char*>(block));
}

// How many arenas glibc's malloc has (malloc_info lists one <heap> per arena).
int MallocArenas() {
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  malloc_info(0, out);
  std::fclose(out);
  int arenas = 0;
  for (std::string_view rest(text, size); rest.find("<heap nr=") != std::string_view::npos;
       ++arenas) {
    rest.remove_prefix(rest.find("<heap nr=") + 1);
  }
  std::free(text);
  return arenas;
}

TEST(MemoryRelease, ThreadsAllocatingAtOnceShareAtMostTheArenasAllowed) {
  BATON_SKIP_IF_SANITIZED(
      "ASan's allocator replaces glibc's malloc: mallopt and malloc_info do not apply");
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) GTEST_SKIP() << "MALLOC_ARENA_MAX decides";
  CapMallocArenas(2);
  const int before = MallocArenas();
  // Eight threads that each allocate while the others are alive and allocating: without a cap
  // glibc gives each its own arena.
  std::latch allocated(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&allocated] {
      auto* block = static_cast<volatile char*>(std::malloc(1000));
      block[0] = 1;                 // used, so the compiler keeps the allocation
      allocated.arrive_and_wait();  // all alive at once, each with its block
      std::free(const_cast<char*>(block));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(MallocArenas(), std::max(before, 2));
}
#endif

}  // namespace
}  // namespace baton::webapi
