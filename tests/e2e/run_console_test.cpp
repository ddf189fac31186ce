// What `baton run` prints of a task's output: every line once, whole, in order, each after the
// job and step's prefix, however the output was read and batched (long lines, empty lines, runs
// of thousands of lines written with writev from the runs' own bytes: issue 16, W4).
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

TEST(RunConsole, PrintsEveryLineOfALongOutputOnceAfterItsPrefixInOrder) {
  TempDir dir;
  fs::path file = dir / "pipeline.yml";
  // 3,000 numbered lines, an empty line, a line longer than a 64 KiB run (printed in two pieces,
  // as the worker cuts it), and a last line without a trailing newline.
  WriteFile(file, R"Y(
jobs:
- name: job
  plan:
  - task: print
    config:
      platform: linux
      run:
        path: sh
        args:
        - -c
        - |
          awk 'BEGIN { for (i = 0; i < 3000; i++) printf "n %d\n", i; print ""; for (i = 0; i < 70000; i++) printf "x"; print ""; printf "end" }'
)Y");
  ProcessResult r = RunBaton({"run", "-c", file.string(), "--data-dir", (dir / "data").string()});
  ASSERT_EQ(r.exit_code, 0) << r.All();

  const std::string prefix = "job #1/print | ";
  std::vector<std::string> printed;
  std::istringstream out(r.out);
  bool started = false;
  for (std::string line; std::getline(out, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::string text = line.substr(prefix.size());
    started = started || text == "n 0";
    if (started) printed.push_back(text);
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 3000; ++i) expected.push_back("n " + std::to_string(i));
  expected.push_back("");
  expected.push_back(std::string(65536, 'x'));  // a line is cut at 64 KiB (kMaxLineBytes)
  expected.push_back(std::string(70000 - 65536, 'x'));
  expected.push_back("end");
  ASSERT_EQ(printed.size(), expected.size()) << r.out.substr(0, 2000);
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(printed[i], expected[i]) << "line " << i;
  }
}

}  // namespace
}  // namespace baton::testing
