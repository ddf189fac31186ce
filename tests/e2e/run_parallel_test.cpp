// `baton run --parallel N`: at most N tasks run at once, however many builds are under way (up to
// 2N fetch their inputs meanwhile; --parallel 1 runs one build at a time). Each task prints the
// nanosecond clock at its start and end; no more than N of those intervals may overlap.
#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

constexpr int kJobs = 6;

std::string Pipeline() {
  std::string y = "resources:\n- name: r\n  type: mock\n  source: {initial_version: v1}\njobs:\n";
  for (int i = 1; i <= kJobs; ++i) {
    y += "- name: j" + std::to_string(i) +
         "\n  plan:\n  - get: r\n  - task: t\n    config:\n      platform: linux\n"
         "      run: {path: sh, args: [-c, 'echo start $(date +%s%N); sleep 0.15; "
         "echo end $(date +%s%N)']}\n";
  }
  return y;
}

// The most task intervals open at one time, from the console's "jN #1/t | start|end NS" lines.
int MostAtOnce(const std::string& out) {
  std::vector<std::pair<long long, int>> edges;  // (time, +1 start / -1 end)
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    for (auto [word, delta] : {std::pair{"| start ", 1}, std::pair{"| end ", -1}}) {
      size_t at = line.find(word);
      if (at != std::string::npos) {
        edges.emplace_back(std::stoll(line.substr(at + std::string(word).size())), delta);
      }
    }
  }
  EXPECT_EQ(edges.size(), 2u * kJobs) << out;
  std::sort(edges.begin(), edges.end());  // an end before a start at the same nanosecond
  int open = 0, most = 0;
  for (const auto& [time, delta] : edges) most = std::max(most, open += delta);
  return most;
}

class RunParallel : public ::testing::TestWithParam<int> {
 protected:
  TempDir dir_;
};

TEST_P(RunParallel, NoMoreTasksAtOnceThanAsked) {
  WriteFile(dir_ / "p.yml", Pipeline());
  const int parallel = GetParam();
  ProcessResult r = RunBaton({"run", "-c", (dir_ / "p.yml").string(), "--data-dir",
                              (dir_ / "data").string(), "--parallel", std::to_string(parallel)});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto summary = ParseRunSummary(r.out);
  for (int i = 1; i <= kJobs; ++i) EXPECT_EQ(summary["j" + std::to_string(i)], "succeeded");
  int most = MostAtOnce(r.out);
  EXPECT_GE(most, 1);
  EXPECT_LE(most, parallel) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Parallel, RunParallel, ::testing::Values(1, 2));

}  // namespace
}  // namespace baton::testing
