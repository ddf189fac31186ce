// Issue 9, bounded parsing: a pipeline of nested YAML aliases ("billion laughs") or of huge
// ((var)) values is refused quickly and cheaply, with the position and the limit in the
// message, instead of expanding to billions of nodes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "baton/pipelines/loader.h"
#include "fakes/test_env.h"
#include "security/bombs.h"

namespace baton::testing {
namespace {

using pipelines::LoadOptions;
using pipelines::LoadPipeline;

std::string Render(const pipelines::PipelineLoad& load, const std::string& yaml) {
  return pipelines::RenderAll(load.diagnostics, yaml);
}

TEST(ParseBomb, TheAliasBombIs605Bytes) { EXPECT_EQ(BillionLaughs().size(), 605u); }

TEST(ParseBomb, TheAliasBombIsRefusedAtTheAliasThatCrossesTheLimit) {
  const std::string yaml = BillionLaughs();
  LoadOptions options;
  options.file_name = "bomb.yml";
  auto load = LoadPipeline(yaml, options);
  ASSERT_FALSE(load.ok());
  std::string text = Render(load, yaml);
  EXPECT_NE(text.find("bomb.yml:11:"), std::string::npos) << text;  // the line of `f: &f [...]`
  EXPECT_NE(text.find("YAML aliases (*name) expand this document to more than 1000000 nodes"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("split the pipeline"), std::string::npos) << text;
}

TEST(ParseBomb, AnAliasedLongStringCountsItsBytes) {
  std::string yaml = "resources:\n- name: r\n  type: mock\n  source:\n    a: &a " +
                     std::string(1000, 'x') + "\n    b: [";
  for (int i = 0; i < 200; ++i) yaml += i ? ", *a" : "*a";
  yaml += "]\njobs: []\n";
  LoadOptions options;
  options.limits.max_expanded_scalar_bytes = 100'000;
  auto load = LoadPipeline(yaml, options);
  ASSERT_FALSE(load.ok());
  EXPECT_NE(Render(load, yaml).find("more than 100000 bytes of text"), std::string::npos)
      << Render(load, yaml);
}

TEST(ParseBomb, AFileOverTheSizeLimitIsRefusedWhereTheLimitFalls) {
  std::string yaml = "jobs:\n- name: j\n  plan: []\n# " + std::string(200, 'x') + "\n";
  LoadOptions options;
  options.file_name = "big.yml";
  options.limits.max_file_bytes = 100;
  auto load = LoadPipeline(yaml, options);
  ASSERT_FALSE(load.ok());
  std::string text = Render(load, yaml);
  EXPECT_NE(text.find("big.yml:4:"), std::string::npos) << text;
  EXPECT_NE(text.find("more than the 100 bytes Baton loads"), std::string::npos) << text;
}

TEST(ParseBomb, ALargeVarUsedManyTimesIsRefusedAtTheUseThatCrossesTheLimit) {
  pipelines::Vars vars;
  nlohmann::json big = nlohmann::json::array();
  for (int i = 0; i < 1000; ++i) big.push_back(i);
  vars.Set("big", big);
  std::string yaml = "resources:\n- name: r\n  type: mock\n  source:\n    list:\n";
  for (int i = 0; i < 2000; ++i) yaml += "    - ((big))\n";
  yaml += "jobs: []\n";
  LoadOptions options;
  options.vars = &vars;
  auto load = LoadPipeline(yaml, options);
  ASSERT_FALSE(load.ok());
  std::string text = Render(load, yaml);
  // 1001 nodes per use (from line 6): the 1000th use, on line 1005, passes a million.
  EXPECT_NE(text.find("pipeline.yml:1005:"), std::string::npos) << text;
  EXPECT_NE(text.find("the ((var)) values substituted into this file add more than"),
            std::string::npos)
      << text;
}

TEST(ParseBomb, AliasesWithinTheLimitsStillLoad) {
  const std::string yaml = R"(
resources:
- name: r
  type: mock
  source: &src {create_files: {a: "1"}, list: &l [x, y, z]}
- name: s
  type: mock
  source: {<<: *src, more: [*l, *l, *l]}
jobs:
- name: j
  plan:
  - get: r
  - get: s
)";
  auto load = LoadPipeline(yaml, LoadOptions{});
  ASSERT_TRUE(load.ok()) << Render(load, yaml);
  EXPECT_EQ(load.config->resources[1].source["more"][2][1], "y");
}

struct ChildUsage {
  int exit_code = -1;
  int term_signal = 0;
  double cpu_seconds = 0;
  long max_rss_kb = 0;
};

// Runs `baton validate-pipeline -c file` with a CPU-time cap (so the old, unbounded loader
// fails in seconds instead of minutes) and reads its CPU time and peak RSS with wait4.
ChildUsage ValidateInChild(const std::string& file) {
  pid_t pid = fork();
  if (pid == 0) {
    rlimit cpu{20, 20};
    setrlimit(RLIMIT_CPU, &cpu);
    rlimit memory{1L << 30, 1L << 30};  // the old loader took gigabytes: spare the machine
    setrlimit(RLIMIT_AS, &memory);
    int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    std::string binary = BatonBinary().string();
    execl(binary.c_str(), binary.c_str(), "validate-pipeline", "-c", file.c_str(), nullptr);
    _exit(127);
  }
  ChildUsage usage;
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) != pid) return usage;
  if (WIFEXITED(status)) usage.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) usage.term_signal = WTERMSIG(status);
  usage.cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                      ru.ru_stime.tv_usec / 1e6;
  usage.max_rss_kb = ru.ru_maxrss;
  return usage;
}

// The issue's bound, CPU half: under a second of CPU in `baton validate-pipeline` (CPU time,
// not wall time, so a loaded machine does not fail it by noise).
TEST(ParseBomb, ValidatePipelineRefusesTheBombInUnderASecondOfCpu) {
  BATON_SKIP_IF_SANITIZED("the child's RLIMIT_AS leaves no room for ASan's shadow memory");
  TempDir dir;
  WriteFile(dir / "bomb.yml", BillionLaughs());
  ChildUsage usage = ValidateInChild((dir / "bomb.yml").string());
  EXPECT_EQ(usage.term_signal, 0)
      << "killed (SIGXCPU = 24: more than 20 s of CPU; SIGABRT = 6: out of memory)";
  EXPECT_EQ(usage.exit_code, 1);
  EXPECT_LT(usage.cpu_seconds, 1.0);
}

// A /proc/self/status field in kB, or -1.
long StatusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// The memory half, in process: the peak RSS (VmHWM, reset through clear_refs) while loading
// the bomb stays within 100 MB of the RSS before. (A forked child's max RSS would include the
// test binary's pages it inherited, so the child above cannot measure this.)
TEST(ParseBomb, LoadingTheBombGrowsPeakMemoryByLessThan100Mb) {
  const std::string yaml = BillionLaughs();
  long before = StatusKb("VmRSS");
  std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current RSS
  ASSERT_LE(StatusKb("VmHWM"), before + 1024) << "could not reset the peak RSS";
  rusage start{}, end{};
  getrusage(RUSAGE_THREAD, &start);
  auto load = LoadPipeline(yaml, LoadOptions{});
  getrusage(RUSAGE_THREAD, &end);
  EXPECT_FALSE(load.ok());
  long growth_kb = StatusKb("VmHWM") - before;
  double cpu = (end.ru_utime.tv_sec - start.ru_utime.tv_sec) +
               (end.ru_utime.tv_usec - start.ru_utime.tv_usec) / 1e6;
  std::printf("alias bomb: peak RSS growth %ld kB, %.4f s CPU\n", growth_kb, cpu);
  EXPECT_LT(growth_kb, 100 * 1024);
  EXPECT_LT(cpu, 1.0);
}

}  // namespace
}  // namespace baton::testing
