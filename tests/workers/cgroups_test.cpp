// cgroups: detection, limits and kill-all on the real kernel (root), and limits seen by tasks.
#include "baton/workers/cgroups.h"

#include "baton/workers/sandbox.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "fakes/test_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::CgroupSupport;
using workers::DetectCgroups;
using workers::Limits;
using workers::TaskCgroup;
using workers::TaskRun;

bool HasV1(const char* controller) {
  return fs::exists(std::string("/sys/fs/cgroup/") + controller + "/cgroup.procs");
}

TEST(Cgroups, DetectionReadsControllersAndOurOwnGroupFromTheGivenFiles) {
  TempDir t;
  fs::create_directories(t / "mem/outer/me");
  fs::create_directories(t / "pids");
  fs::create_directories(t / "unified/svc");
  WriteFile(t / "mountinfo", "30 23 0:28 / " + (t / "mem").string() +
                                 " rw,relatime - cgroup cgroup rw,memory\n"
                                 "31 23 0:29 / " +
                                 (t / "pids").string() +
                                 " rw,nosuid shared:9 - cgroup cgroup rw,pids\n"
                                 "32 23 0:30 / " +
                                 (t / "unified").string() + " rw - cgroup2 cgroup2 rw\n");
  WriteFile(t / "cgroup", "4:memory:/outer/me\n8:pids:/\n0::/svc\n");
  WriteFile(t / "unified/svc/cgroup.controllers", "hugetlb\n");
  CgroupSupport s = DetectCgroups((t / "mountinfo").string(), (t / "cgroup").string());
  EXPECT_EQ(s.memory_dir, (t / "mem/outer/me").string());
  EXPECT_EQ(s.pids_dir, (t / "pids").string());
  EXPECT_EQ(s.cpu_dir, "");
  EXPECT_EQ(s.unified_dir, (t / "unified/svc").string());
  EXPECT_FALSE(s.v2_memory);
  EXPECT_EQ(s.Describe(),
            "v1 memory,pids; v2 at " + (t / "unified/svc").string() + " (tracking and kill only)");
}

TEST(Cgroups, APureV2MachineUsesV2ControllersForLimits) {
  TempDir t;
  fs::create_directories(t / "cg");
  WriteFile(t / "mountinfo", "32 23 0:30 / " + (t / "cg").string() + " rw - cgroup2 cgroup2 rw\n");
  WriteFile(t / "cgroup", "0::/\n");
  WriteFile(t / "cg/cgroup.controllers", "cpuset cpu io memory pids\n");
  CgroupSupport s = DetectCgroups((t / "mountinfo").string(), (t / "cgroup").string());
  EXPECT_TRUE(s.v2_memory && s.v2_pids && s.v2_cpu);
  EXPECT_EQ(s.unified_dir, (t / "cg").string());
}

TEST(Cgroups, NoCgroupsMeansNone) {
  TempDir t;
  WriteFile(t / "mountinfo", "");
  WriteFile(t / "cgroup", "");
  CgroupSupport s = DetectCgroups((t / "mountinfo").string(), (t / "cgroup").string());
  EXPECT_FALSE(s.any());
  EXPECT_EQ(s.Describe(), "none");
}

TEST(Cgroups, ThisMachineHasV1LimitsAndAV2GroupForKilling) {
  if (!HasV1("memory")) GTEST_SKIP() << "no cgroup v1 memory controller here";
  CgroupSupport s = DetectCgroups();
  EXPECT_FALSE(s.memory_dir.empty());
  EXPECT_FALSE(s.pids_dir.empty());
  EXPECT_FALSE(s.cpu_dir.empty());
  EXPECT_NE(s.Describe().find("v1 memory,pids,cpu"), std::string::npos) << s.Describe();
}

TEST(Cgroups, ATaskGroupAppliesLimitsAndIsRemovedAfterwards) {
  CgroupSupport s = DetectCgroups();
  if (s.memory_dir.empty() || s.pids_dir.empty() || s.cpu_dir.empty()) GTEST_SKIP();
  Limits limits;
  limits.memory_bytes = 64 << 20;
  limits.cpu_shares = 512;
  std::vector<std::string> dirs;
  {
    auto cg = TaskCgroup::Create(s, "limits/test", limits, 77);
    ASSERT_TRUE(cg.ok()) << cg.status().ToString();
    dirs = (*cg)->dirs();
    ASSERT_GE(dirs.size(), 3u);
    for (const auto& d : dirs) {
      if (d.find("/memory/") != std::string::npos) {
        EXPECT_EQ(ReadFile(d + "/memory.limit_in_bytes"), "67108864\n");
      }
      if (d.find("/pids/") != std::string::npos) {
        EXPECT_EQ(ReadFile(d + "/pids.max"), "77\n");
      }
      if (d.find("/cpu/") != std::string::npos) {
        EXPECT_EQ(ReadFile(d + "/cpu.shares"), "512\n");
      }
    }
    EXPECT_EQ(dirs[0].find("limits/test"), std::string::npos) << "names are sanitised";
  }
  for (const auto& d : dirs) EXPECT_FALSE(fs::exists(d)) << d;
}

TEST(Cgroups, KillAllKillsATreeIncludingASetsidGrandchild) {
  CgroupSupport s = DetectCgroups();
  if (!s.any()) GTEST_SKIP();
  auto cg = TaskCgroup::Create(s, "killall", Limits{}, 100);
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, go[0], 0);
  posix_spawn_file_actions_addclose(&actions, go[1]);
  const char* argv[] = {"/bin/sh", "-c", "read x; setsid sleep 1000 & exec sleep 1000", nullptr};
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char**>(argv), environ), 0);
  close(go[0]);
  ASSERT_TRUE((*cg)->AddProcess(pid).ok());
  ASSERT_EQ(write(go[1], "\n", 1), 1);
  close(go[1]);
  EXPECT_TRUE(Eventually([&] { return (*cg)->Processes().size() == 2; }))
      << (*cg)->Processes().size();
  (*cg)->KillAll();
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_TRUE(Eventually([&] { return (*cg)->Processes().empty(); }));
  posix_spawn_file_actions_destroy(&actions);
}

// Starts `script` with `sandbox` entering `entry`; its stdout, or the start error.
std::string StartedOutput(workers::Sandbox& sandbox, const workers::CgroupEntry& entry,
                          const std::string& script, const std::string& work_dir) {
  int out[2];
  if (pipe(out) != 0) return "pipe failed";
  TaskRun run = ShellTask("entry", script, work_dir);
  auto p = sandbox.StartInCgroups(run, workers::SandboxStdio{-1, out[1], out[1]}, entry, nullptr);
  close(out[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) text.append(buf, n);
  close(out[0]);
  if (!p.ok()) return p.status().ToString();
  (*p)->Wait();
  return text;
}

// The group path of /proc/self/cgroup's line for `controller` ("" for v2) in `text`.
std::string GroupOf(const std::string& text, const std::string& controller) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    std::string ctl = line.substr(a + 1, b - a - 1);
    if (ctl == controller || ("," + ctl + ",").find("," + controller + ",") != std::string::npos) {
      if (!controller.empty() || ctl.empty()) return line.substr(b + 1);
    }
  }
  return "(none)";
}

void ExpectStartsInEveryGroup(workers::Sandbox& sandbox) {
  CgroupSupport s = DetectCgroups();
  if (s.pids_dir.empty() || s.unified_dir.empty()) GTEST_SKIP() << "needs v1 pids and v2";
  auto cg = TaskCgroup::Create(s, "entry", Limits{}, 100);
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  TempDir work;
  std::string text =
      StartedOutput(sandbox, (*cg)->Entry(), "cat /proc/self/cgroup", work.path().string());
  for (const auto& [controller, dir] :
       {std::pair{std::string("pids"), s.pids_dir}, {std::string(""), s.unified_dir}}) {
    std::string leaf = GroupOf(text, controller);
    std::vector<std::string> dirs = (*cg)->dirs();
    EXPECT_TRUE(std::any_of(dirs.begin(), dirs.end(),
                            [&](const std::string& d) {
                              return d.size() > leaf.size() &&
                                     d.compare(d.size() - leaf.size(), leaf.size(), leaf) == 0 &&
                                     d.rfind(dir, 0) == 0;
                            }))
        << "controller '" << controller << "' group " << leaf << "\n"
        << text;
  }
}

TEST(CgroupEntry, AnUnsandboxedProcessStartsInsideEveryGroupOfItsTask) {
  auto launcher = workers::MakeUnsandboxedLauncher();
  ExpectStartsInEveryGroup(*launcher);
}

TEST(CgroupEntry, ASandboxedProcessStartsInsideEveryGroupOfItsTask) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  TempDir state;
  auto sandbox = workers::MakeNamespaceSandbox({state.path().string(), {}});
  ExpectStartsInEveryGroup(*sandbox);
}

TEST(CgroupEntry, AGroupThatCannotBeEnteredIsAStartErrorNotAnExitCode) {
  auto launcher = workers::MakeUnsandboxedLauncher();
  workers::CgroupEntry entry;
  entry.v1_tasks = {"/nonexistent-cgroup/tasks"};
  TempDir work;
  std::string text = StartedOutput(*launcher, entry, "echo ran", work.path().string());
  EXPECT_NE(text.find("joining the task's cgroups (/nonexistent-cgroup/tasks)"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("ran"), std::string::npos) << text;
}

TEST(CgroupEntry, KillAllReachesEverythingStartedThroughTheEntry) {
  CgroupSupport s = DetectCgroups();
  if (!s.any()) GTEST_SKIP();
  auto cg = TaskCgroup::Create(s, "entry-kill", Limits{}, 100);
  ASSERT_TRUE(cg.ok()) << cg.status().ToString();
  auto launcher = workers::MakeUnsandboxedLauncher();
  TempDir work;
  TaskRun run =
      ShellTask("entry-kill", "setsid sleep 1000 & exec sleep 1000", work.path().string());
  int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  auto p = launcher->StartInCgroups(run, workers::SandboxStdio{-1, null_fd, null_fd},
                                    (*cg)->Entry(), nullptr);
  close(null_fd);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(Eventually([&] { return (*cg)->Processes().size() == 2; }))
      << (*cg)->Processes().size();
  (*cg)->KillAll();
  EXPECT_EQ((*p)->Wait(), 128 + SIGKILL);
  EXPECT_TRUE(Eventually([&] { return (*cg)->Processes().empty(); }));
}

class CgroupLimits : public WorkerFixture {
 protected:
  void SetUp() override {
    WorkerFixture::SetUp();
    if (worker_->cgroups().memory_dir.empty() || worker_->cgroups().pids_dir.empty()) {
      GTEST_SKIP() << "needs v1 memory and pids controllers";
    }
  }
};

TEST_F(CgroupLimits, AMemoryLimitOomKillsA200MBAllocationUnder64MB) {
  TaskRun run;
  run.limits.memory_bytes = 64 << 20;
  // `tail -n 1` must hold the whole newline-free 200 MB "line" in memory.
  auto f = Sh("head -c 200M /dev/zero | tail -n 1 > /dev/null; echo tail-exited-$?", run);
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_TRUE(f.result.oom_killed);
  EXPECT_EQ(f.sink->Text(), "tail-exited-137\n");
  auto direct = Sh("exec tail -n 1 /dev/zero", run);  // reads forever, holding the line
  EXPECT_TRUE(direct.result.oom_killed);
  EXPECT_EQ(direct.result.exit_code, 137);
  EXPECT_NE(direct.sink->Text(workers::OutputStream::kSystem).find("out of memory"),
            std::string::npos);
}

TEST_F(CgroupLimits, WithoutALimitTheSameAllocationSucceeds) {
  auto f = Sh("head -c 200M /dev/zero | tail -n 1 | wc -c");
  EXPECT_EQ(f.result.exit_code, 0);
  EXPECT_FALSE(f.result.oom_killed);
  EXPECT_EQ(f.sink->Text(), "209715200\n");
}

// The pids.events / pids.current files of this process's task groups.
std::vector<fs::path> OurTaskPidGroups(const CgroupSupport& s) {
  std::vector<fs::path> out;
  std::error_code ec;
  std::string tag = "-" + std::to_string(getpid()) + "-";
  for (const auto& e : fs::directory_iterator(s.pids_dir + "/baton", ec)) {
    if (e.path().filename().string().find(tag) != std::string::npos) out.push_back(e.path());
  }
  return out;
}

TEST_F(CgroupLimits, AForkBombIsContainedByPidsMax) {
  TaskRun run;
  run.id = "fork-bomb";
  run.work_dir = work_dir_;
  run.path = "/bin/bash";
  run.args = {"-c", "bomb() { bomb | bomb & }; bomb 2>/dev/null; sleep 1000"};
  run.limits.max_pids = 60;
  auto sink = std::make_shared<RecordingSink>();
  auto done = std::make_shared<std::promise<workers::TaskResult>>();
  auto future = done->get_future();
  auto handle = worker_->RunTask(run, sink, [done](workers::TaskResult r) { done->set_value(r); });
  fs::path group;
  ASSERT_TRUE(Eventually([&] {
    for (const auto& g : OurTaskPidGroups(worker_->cgroups())) {
      if (ReadFile(g / "pids.events") != "max 0\n") group = g;
    }
    return !group.empty();
  })) << "the bomb should hit pids.max";
  EXPECT_LE(std::stoi(ReadFile(group / "pids.current")), 60);
  handle->Cancel(std::chrono::seconds(0));
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(future.get().error.ok());
  // Removed once the result is reported (LocalWorker releases a task's groups after it).
  EXPECT_TRUE(Eventually([&] { return !fs::exists(group); }))
      << "the group is removed after the task";
  EXPECT_EQ(Sh("echo alive").sink->Text(), "alive\n") << "the machine survived";
}

TEST_F(CgroupLimits, TheTaskSeesItsLimitsInItsCgroups) {
  TaskRun run;
  run.limits.cpu_shares = 256;
  auto f =
      Sh("p=$(grep ':pids:' /proc/self/cgroup | cut -d: -f3); "
         "c=$(grep ':cpu:' /proc/self/cgroup | cut -d: -f3); "
         "cat /sys/fs/cgroup/pids$p/pids.max /sys/fs/cgroup/cpu$c/cpu.shares",
         run);
  EXPECT_EQ(f.sink->Text(), "1024\n256\n") << "default pids.max 1024 and cpu.shares 256";
}

}  // namespace
}  // namespace baton::testing
