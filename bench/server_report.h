// bench_server's report lines: a figure's median and p99, and make's beside it.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cluster_workloads.h"  // Median

namespace baton::bench {

inline void Report(const std::string& what, std::vector<double> ms, double make_median = 0) {
  if (ms.empty()) {
    std::printf("  %-58s no samples\n", what.c_str());
    return;
  }
  std::sort(ms.begin(), ms.end());
  double p99 = ms[std::min(ms.size() - 1, static_cast<size_t>(ms.size() * 0.99))];
  std::printf("  %-58s median %8.1f ms  p99 %8.1f ms", what.c_str(), Median(ms), p99);
  if (make_median > 0) std::printf("  ratio %5.1fx", Median(ms) / make_median);
  std::printf("  (n=%zu)\n", ms.size());
  std::fflush(stdout);
}

// `make -j2` on the same commands in the same run, and the ratio of the medians.
inline void ReportMake(const std::vector<double>& baton_ms, const std::vector<double>& make_ms) {
  double baton = Median(baton_ms), make = Median(make_ms);
  std::printf("  %-58s median %8.1f ms  ratio %6.1fx  (n=%zu)\n", "   make -j2, same commands",
              make, make > 0 ? baton / make : 0.0, make_ms.size());
  std::fflush(stdout);
}

}  // namespace baton::bench
