// Gives the allocator's free memory back to the system once the server is quiet after work.
//
// glibc keeps freed memory in its arenas (one per thread that allocated): after W4 with ten
// SSE followers, about 25 of the 41 MB the server had grown were free memory it kept
// (docs/benchmarks.md). malloc_trim(0) hands it back. A finished build or a closed connection
// arms a MemoryRelease; armed, it looks every `interval` and trims the first time nothing is
// running (`busy` is false: no build, no event stream), then disarms. An idle server never
// wakes for it.
//
// Thread-safety: every call, and `busy` and `trim`, on the io_context's thread.
#pragma once

#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace baton::webapi {

// malloc_trim(0) where the C library has it (glibc); otherwise nothing.
void ReleaseFreeMemory();

// Keeps glibc's mmap threshold at its default 128 KiB (elsewhere nothing): a block that large
// that the arena cannot serve from free memory it already holds gets a mapping of its own,
// unmapped when freed. By default glibc raises the threshold to the largest block freed so far,
// and the server's large blocks (a run of formatted events, ~235 KB; the events of one store
// read) then grow the arenas and leave holes there that malloc_trim cannot give back: once quiet
// after W4 with ten followers the server kept 15-19 MB over idle, 6-9 MB with this
// (docs/benchmarks.md). Call once, at the server's start (`baton web`'s, with CapMallocArenas).
void MapLargeBlocksAlways();

// Caps glibc's malloc arenas at `arenas` (elsewhere, or when MALLOC_ARENA_MAX is set, nothing).
// glibc gives each thread that allocates while others do an arena of its own, up to 8 per core,
// and each keeps its live blocks and holes: a server on 2 cores had 15 arenas once quiet after
// W1-W3 (a thread per running task), ~3.6 MB beside its 2 MB main heap. The server's threads
// mostly wait on sockets and processes; 2 arenas gave W4's followers the same lag
// (docs/benchmarks.md, 2026-12-04, branch memory). Call once, before the process starts a
// thread: glibc fixes the cap the first time a thread needs an arena, and arenas made before
// stay. Called after the store and the local worker had started theirs, it left a started
// server with 4 arenas beside the main heap (docs/benchmarks.md, 2026-12-05, branch rss).
void CapMallocArenas(int arenas);

// Runs this server process again, once, with glibc's per-thread caches (tcache) limited to blocks
// of at most 64 bytes. A thread's cache keeps up to 7 freed blocks of each size up to 1 KiB and
// hands them to that thread first; on a server whose threads take turns with builds, the small
// blocks that stay (a statement, a job's state) end up spread over pages that malloc_trim cannot
// give back: once quiet after W1-W4 the server held 5.2-5.7 MB of anonymous memory (1.8 MB idle)
// for 1.4-1.9 MB of blocks in use, and ~1.1 MB less with the limit (docs/benchmarks.md,
// 2026-12-06, twenty-first stop). glibc reads the limit only from GLIBC_TUNABLES when a process
// starts, so this executes /proc/self/exe with the same arguments and the tunable added, and back
// in puts GLIBC_TUNABLES as it was: the programs the server starts get the user's environment.
// Nothing where the C library is not glibc, under ASan (its allocator replaces glibc's), when
// GLIBC_TUNABLES already names a tcache tunable (the user decides), or when the execution fails
// (the process goes on with glibc's defaults). Call first, before the process starts a thread or
// opens what should not outlive the execution.
void ReexecWithSmallThreadCaches();

class MemoryRelease {
 public:
  MemoryRelease(boost::asio::io_context& io, std::function<bool()> busy,
                std::chrono::milliseconds interval = std::chrono::seconds(1),
                std::function<void()> trim = ReleaseFreeMemory);

  // Something that held memory ended (a build finished): trim once the server is quiet.
  void Arm();
  // Cancels a pending look; Arm() starts again.
  void Stop();

  int trims() const { return trims_; }

 private:
  void Schedule();
  void Look();

  boost::asio::steady_timer timer_;
  std::function<bool()> busy_;
  std::chrono::milliseconds interval_;
  std::function<void()> trim_;
  bool armed_ = false;
  int trims_ = 0;
};

}  // namespace baton::webapi
