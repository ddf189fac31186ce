// bench_server's reading of a pipeline's builds through the API: waiting for every job's build
// to finish, or for a job's next build, and the hand-off from one build's end to the next one's
// start.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fakes/server_process.h"
#include "proc_stats.h"

namespace baton::bench {

using nlohmann::json;

// The latest end_time over the jobs of `pipeline` once every one of `jobs` has a finished
// build (0 after 120 s), listing them every `poll`.
inline int64_t WaitForAllFinished(const std::function<baton::testing::ApiReply()>& list,
                                  size_t jobs, std::chrono::milliseconds poll) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < until) {
    auto r = list();
    size_t done = 0;
    int64_t last_end = 0;
    for (const json& job : r.json.is_array() ? r.json : json::array()) {
      const json& b = job["finished_build"];
      if (!b.is_object()) continue;
      ++done;
      last_end = std::max(last_end, ParseRfc3339Ms(b.value("end_time", "")));
    }
    if (done >= jobs && last_end > 0) return last_end;
    std::this_thread::sleep_for(poll);
  }
  return 0;
}

// The newest build (`newest` lists one: GET .../builds?limit=1) once it is newer than
// `after_id` and finished, polling every 2 ms; null after 60 s.
inline json WaitForBuildAfter(const std::function<baton::testing::ApiReply()>& newest,
                              int64_t after_id) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    auto r = newest();
    if (r.status == 200 && r.json.is_array() && !r.json.empty()) {
      const json& b = r.json[0];
      std::string status = b.value("status", "");
      if (b.value("id", int64_t{0}) > after_id && status != "pending" && status != "started") {
        return b;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return nullptr;
}

// How long each build waited to start after the latest build end before its start: the
// scheduler's hand-off (W1's chain, W2's fan-out and fan-in). Builds that started before any
// end (W3's, the first of a chain) have none.
inline std::vector<double> HandOffs(const json& jobs) {
  std::vector<std::pair<int64_t, int64_t>> spans;  // (start, end) of each finished build
  for (const json& job : jobs.is_array() ? jobs : json::array()) {
    const json& b = job["finished_build"];
    if (!b.is_object()) continue;
    spans.emplace_back(ParseRfc3339Ms(b.value("start_time", "")),
                       ParseRfc3339Ms(b.value("end_time", "")));
  }
  std::vector<double> out;
  for (const auto& [start, end] : spans) {
    int64_t latest = 0;
    for (const auto& other : spans) {
      if (other.second <= start) latest = std::max(latest, other.second);
    }
    if (latest > 0) out.push_back(static_cast<double>(start - latest));
  }
  return out;
}

}  // namespace baton::bench
