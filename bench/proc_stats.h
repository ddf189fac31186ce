// What the benches read of a process from /proc (CPU, RSS, its parent), the wall clock, and the
// API's times, shared by bench_server, bench_cluster and bench_dispatch.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "baton/common/clock.h"

namespace baton::bench {

// The wall clock as Unix nanoseconds / milliseconds (comparable with the API's times).
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline int64_t NowMs() { return NowNs() / 1'000'000; }

// "2026-11-22T01:02:03.456Z" -> Unix milliseconds (0 when unparsable).
inline int64_t ParseRfc3339Ms(const std::string& text) {
  return baton::ToUnixMillis(baton::ParseRfc3339(text).value_or(baton::SystemTime{}));
}

// The fields of /proc/PID/stat after the command name; [0] is field 3 (state). Empty when gone.
inline std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos || paren + 2 > text.size()) return {};
  std::istringstream rest(text.substr(paren + 2));
  std::vector<std::string> f;
  for (std::string w; rest >> w;) f.push_back(w);
  return f;
}

// utime+stime (and, with `children`, cutime+cstime) of `pid` in seconds; -1 when it is gone.
inline double CpuSeconds(pid_t pid, bool children = false) {
  std::vector<std::string> f = StatFields(pid);
  if (f.size() < 15) return -1;
  double ticks = std::atof(f[11].c_str()) + std::atof(f[12].c_str());
  if (children) ticks += std::atof(f[13].c_str()) + std::atof(f[14].c_str());
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline pid_t ParentOf(pid_t pid) {
  std::vector<std::string> f = StatFields(pid);
  return f.size() < 2 ? -1 : static_cast<pid_t>(std::atol(f[1].c_str()));
}

// A field of /proc/PID/status in kB ("VmRSS", "VmHWM"); -1 when absent.
inline long StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

// RSS in MB by kind (/proc/PID/smaps_rollup): anonymous memory (heap, arenas, stacks) and the
// rest (mapped files: code, libraries, the SQLite database).
inline std::string RssByKind(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  long rss = 0, anon = 0;
  while (std::getline(in, line)) {
    if (line.rfind("Rss:", 0) == 0) rss = std::atol(line.c_str() + 4);
    if (line.rfind("Anonymous:", 0) == 0) anon = std::atol(line.c_str() + 10);
  }
  char out[96];
  std::snprintf(out, sizeof out, "anonymous %.1f MB, files %.1f MB", anon / 1024.0,
                (rss - anon) / 1024.0);
  return out;
}

// The `top` mappings of `pid` with the most resident memory (/proc/PID/smaps, by file name;
// "[anon]" for anonymous ones), e.g. "baton 3.9, libstdc++.so.6.0.30 1.7, [heap] 0.8" in MB.
inline std::string RssByMapping(pid_t pid, size_t top) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::map<std::string, long> kb;
  std::string line, name;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon != std::string::npos && line.find(' ') > colon) {  // "Rss:   12 kB" and the like
      if (line.rfind("Rss:", 0) == 0) kb[name] += std::atol(line.c_str() + 4);
      continue;
    }
    std::istringstream fields(line);  // a mapping's header: range perms offset dev inode [path]
    std::string f[5], path;
    fields >> f[0] >> f[1] >> f[2] >> f[3] >> f[4] >> path;
    name = path.empty() ? "[anon]" : path.substr(path.rfind('/') + 1);
  }
  std::vector<std::pair<long, std::string>> by_size;
  for (const auto& [n, k] : kb) by_size.emplace_back(k, n);
  std::sort(by_size.rbegin(), by_size.rend());
  std::string out;
  for (size_t i = 0; i < by_size.size() && i < top && by_size[i].first > 0; ++i) {
    char item[160];
    std::snprintf(item, sizeof item, "%s%s %.1f", out.empty() ? "" : ", ",
                  by_size[i].second.c_str(), by_size[i].first / 1024.0);
    out += item;
  }
  return out;
}

// RssByMapping's `top` mappings on a line of their own, when `top` > 0.
inline void PrintRssByMapping(pid_t pid, size_t top) {
  if (top > 0) std::printf("    (MB by mapping: %s)\n", RssByMapping(pid, top).c_str());
}

// The server gives free memory back about a second after its last build and stream end, and
// a build's task threads may end seconds after it (300 builds: 155 threads, gone 3 s later;
// docs/benchmarks.md): waits 3 s, then until the thread count has not changed for a second (at
// most 15 s more), then 1.5 s for the trim.
inline void WaitUntilQuiet(pid_t pid) {
  using std::chrono::milliseconds;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  long threads = StatusKb(pid, "Threads");
  for (int steady = 0; steady < 4 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(milliseconds(250));
    const long now = StatusKb(pid, "Threads");
    steady = now == threads ? steady + 1 : 0;
    threads = now;
  }
  std::this_thread::sleep_for(milliseconds(1500));
}

// Until `pid` (its threads and children) used no CPU for 50 ms, at most `cap_ms`: the work a
// request left behind (a check after a push, a spare checkout) is done.
inline void WaitUntilIdle(pid_t pid, int cap_ms = 2000) {
  const int64_t until = NowMs() + cap_ms;
  double before = CpuSeconds(pid) + CpuSeconds(pid, true);
  while (NowMs() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const double now = CpuSeconds(pid) + CpuSeconds(pid, true);
    if (now == before) return;
    before = now;
  }
}

// Resets VmHWM to the current RSS (Linux >= 4.0).
inline void ResetPeakRss(pid_t pid) {
  std::ofstream("/proc/" + std::to_string(pid) + "/clear_refs") << "5";
}

}  // namespace baton::bench
