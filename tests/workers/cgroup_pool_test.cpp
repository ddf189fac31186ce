// CgroupPool: task groups kept for the next task, on the real kernel (root), and what a task
// run by the LocalWorker sees of it.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <future>
#include <memory>

#include <gtest/gtest.h>

#include "baton/workers/cgroups.h"
#include "fakes/test_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::CgroupPool;
using workers::CgroupSupport;
using workers::DetectCgroups;
using workers::Limits;
using workers::TaskCgroup;

CgroupSupport PooledSupport() {
  CgroupSupport s = DetectCgroups();
  s.pool = std::make_shared<CgroupPool>();
  return s;
}

bool AllExist(const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    if (!fs::exists(d)) return false;
  }
  return !dirs.empty();
}

bool NoneExists(const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    if (fs::exists(d)) return false;
  }
  return true;
}

// Starts `script` under /bin/sh inside `cg`; returns its pid.
pid_t SpawnInside(TaskCgroup& cg, const std::string& script) {
  int go[2];
  if (pipe(go) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, go[0], 0);
  posix_spawn_file_actions_addclose(&actions, go[1]);
  std::string body = "read x; " + script;
  const char* argv[] = {"/bin/sh", "-c", body.c_str(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char**>(argv), environ) != 0) {
    pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  close(go[0]);
  if (pid > 0 && !cg.AddProcess(pid).ok()) pid = -1;
  if (write(go[1], "\n", 1) != 1) pid = -1;  // runs only once inside the group
  close(go[1]);
  return pid;
}

// A task's group made and ended without limits, so the pool keeps it; `dirs` are its directories.
void GiveOneBack(const CgroupSupport& s, std::vector<std::string>* dirs) {
  auto first = TaskCgroup::Create(s, "first", Limits{}, 100);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  *dirs = (*first)->dirs();
}

TEST(CgroupPool, AnEmptiedGroupServesTheNextTaskAndIsRemovedWithThePool) {
  CgroupSupport s = PooledSupport();
  if (!s.any() || geteuid() != 0) GTEST_SKIP() << "needs cgroups and root";
  std::vector<std::string> dirs;
  ASSERT_NO_FATAL_FAILURE(GiveOneBack(s, &dirs));
  EXPECT_EQ(s.pool->idle(), 1u);
  EXPECT_TRUE(AllExist(dirs)) << "kept for the next task";
  Limits fifty;
  fifty.max_pids = 50;
  {
    auto second = TaskCgroup::Create(s, "second", fifty, 100);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_EQ((*second)->dirs(), dirs);
    EXPECT_EQ(s.pool->idle(), 0u);
    for (const auto& d : dirs) {
      if (d.rfind(s.pids_dir, 0) == 0 && !s.pids_dir.empty()) {
        EXPECT_EQ(ReadFile(d + "/pids.max"), "50\n") << "the second task's own pids.max";
      }
    }
    EXPECT_FALSE((*second)->OomKilled());
    EXPECT_FALSE((*second)->HitPidsLimit());
  }
  s.pool.reset();
  EXPECT_TRUE(NoneExists(dirs)) << "the pool removes what it holds";
}

TEST(CgroupPool, AnIdleGroupRemovedBehindThePoolsBackIsDroppedAndAFreshOneMade) {
  CgroupSupport s = PooledSupport();
  if (!s.any() || geteuid() != 0) GTEST_SKIP() << "needs cgroups and root";
  std::vector<std::string> dirs;
  ASSERT_NO_FATAL_FAILURE(GiveOneBack(s, &dirs));
  ASSERT_EQ(s.pool->idle(), 1u);
  for (const auto& d : dirs) ASSERT_EQ(rmdir(d.c_str()), 0) << d;  // as another worker's start may
  auto second = TaskCgroup::Create(s, "second", Limits{}, 100);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(s.pool->idle(), 0u);
  EXPECT_TRUE(AllExist((*second)->dirs())) << "a group the task can be cloned into";
  pid_t pid = SpawnInside(**second, "exit 0");
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(CgroupPool, AGroupWithAMemoryOrCpuLimitIsMadeForItsTaskAndRemovedAfterIt) {
  CgroupSupport s = PooledSupport();
  if (s.memory_dir.empty() || s.cpu_dir.empty() || geteuid() != 0) GTEST_SKIP();
  for (bool memory : {true, false}) {
    Limits limits;
    if (memory) limits.memory_bytes = 64 << 20;
    if (!memory) limits.cpu_shares = 512;
    std::vector<std::string> dirs;
    {
      auto cg = TaskCgroup::Create(s, "limited", limits, 100);
      ASSERT_TRUE(cg.ok()) << cg.status().ToString();
      dirs = (*cg)->dirs();
    }
    EXPECT_TRUE(NoneExists(dirs));
    EXPECT_EQ(s.pool->idle(), 0u);
  }
}

TEST(CgroupPool, AGroupThatRefusedAForkIsRemovedNotKept) {
  CgroupSupport s = PooledSupport();
  if (s.pids_dir.empty() || geteuid() != 0) GTEST_SKIP() << "needs the v1 pids controller";
  Limits two;
  two.max_pids = 2;
  std::vector<std::string> dirs;
  {
    auto cg = TaskCgroup::Create(s, "refused", two, 100);
    ASSERT_TRUE(cg.ok()) << cg.status().ToString();
    dirs = (*cg)->dirs();
    pid_t pid = SpawnInside(**cg, "for i in 1 2 3 4; do sleep 0 & done 2>/dev/null; wait");
    ASSERT_GT(pid, 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE((*cg)->HitPidsLimit());
  }
  EXPECT_TRUE(NoneExists(dirs)) << "a later task would read this refusal as its own";
  EXPECT_EQ(s.pool->idle(), 0u);
}

TEST(CgroupPool, AGroupWithAProcessLeftInsideIsKilledAndRemovedNotKept) {
  CgroupSupport s = PooledSupport();
  if (!s.any() || geteuid() != 0) GTEST_SKIP();
  std::vector<std::string> dirs;
  pid_t pid = -1;
  {
    auto cg = TaskCgroup::Create(s, "left", Limits{}, 100);
    ASSERT_TRUE(cg.ok()) << cg.status().ToString();
    dirs = (*cg)->dirs();
    pid = SpawnInside(**cg, "exec sleep 1000");
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(Eventually([&] { return (*cg)->Processes().size() == 1; }));
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_TRUE(NoneExists(dirs));
  EXPECT_EQ(s.pool->idle(), 0u);
}

TEST(CgroupPool, AGroupKilledByKillAllIsRemovedNotKept) {
  CgroupSupport s = PooledSupport();
  if (!s.any() || geteuid() != 0) GTEST_SKIP();
  std::vector<std::string> dirs;
  {
    auto cg = TaskCgroup::Create(s, "killed", Limits{}, 100);
    ASSERT_TRUE(cg.ok()) << cg.status().ToString();
    dirs = (*cg)->dirs();
    pid_t pid = SpawnInside(**cg, "exec sleep 1000");
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(Eventually([&] { return (*cg)->Processes().size() == 1; }));
    (*cg)->KillAll();
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(Eventually([&] { return (*cg)->Processes().empty(); }));
  }
  // Killed through cgroup.kill, a v2 group kills what is later cloned into it (kernel 6.18).
  EXPECT_TRUE(NoneExists(dirs));
  EXPECT_EQ(s.pool->idle(), 0u);
}

TEST(CgroupPool, KillAllOnAnEmptyGroupLeavesItFitForTheNextTask) {
  CgroupSupport s = PooledSupport();
  if (!s.any() || geteuid() != 0) GTEST_SKIP();
  {
    auto cg = TaskCgroup::Create(s, "empty", Limits{}, 100);
    ASSERT_TRUE(cg.ok()) << cg.status().ToString();
    (*cg)->KillAll();  // as the supervisor does once a task's process has exited
  }
  EXPECT_EQ(s.pool->idle(), 1u);
}

TEST(CgroupPool, GroupsLeftByAProcessNoLongerRunningAreRemovedAndOursAreNot) {
  CgroupSupport s = DetectCgroups();
  if (s.pids_dir.empty() || geteuid() != 0) GTEST_SKIP() << "needs the v1 pids controller";
  pid_t gone = fork();
  if (gone == 0) _exit(0);
  ASSERT_GT(gone, 0);
  ASSERT_EQ(waitpid(gone, nullptr, 0), gone);
  std::string base = s.pids_dir + "/baton/";
  fs::create_directories(base);
  std::string left = base + "pooled-" + std::to_string(gone) + "-1";
  std::string ours = base + "pooled-" + std::to_string(getpid()) + "-999999";
  ASSERT_TRUE(fs::create_directory(left));
  ASSERT_TRUE(fs::create_directory(ours));
  workers::RemoveAbandonedGroups(s);
  EXPECT_FALSE(fs::exists(left)) << "its process is gone";
  EXPECT_TRUE(fs::exists(ours));
  fs::remove(ours);
}

class PooledWorker : public WorkerFixture {};

TEST_F(PooledWorker, TasksOneAfterAnotherRunInTheSameGroupsAndNoneIsLeftAfterTheWorker) {
  if (!worker_->cgroups().any() || worker_->cgroups().pids_dir.empty()) {
    GTEST_SKIP() << "needs the v1 pids controller";
  }
  const char* script = "grep ':pids:' /proc/self/cgroup | cut -d: -f3";
  auto first = Sh(script);
  // Its groups go back just after its result (see the next test); a task started before that
  // gets groups of its own.
  ASSERT_TRUE(Eventually([&] { return worker_->cgroups().pool->idle() == 1; }));
  auto second = Sh(script);
  ASSERT_EQ(first.result.exit_code, 0) << first.sink->Text();
  EXPECT_NE(first.sink->Text().find("/baton/pooled-"), std::string::npos) << first.sink->Text();
  EXPECT_EQ(first.sink->Text(), second.sink->Text());
  std::string group = worker_->cgroups().pids_dir;
  std::string leaf = first.sink->Text();
  leaf.pop_back();  // the newline
  group += leaf.substr(leaf.find("/baton/"));
  EXPECT_TRUE(fs::exists(group));
  worker_.reset();
  EXPECT_FALSE(fs::exists(group)) << "the worker's pool removes its groups";
}

// The groups go back after the result is reported, so the next job's start does not wait for
// the reads that decide whether they may be kept.
TEST_F(PooledWorker, ATasksResultIsReportedBeforeItsGroupsGoBackToThePool) {
  if (!worker_->cgroups().any()) GTEST_SKIP() << "needs cgroups";
  const CgroupPool& pool = *worker_->cgroups().pool;
  auto sink = std::make_shared<RecordingSink>();
  std::promise<size_t> idle_when_reported;
  auto reported = idle_when_reported.get_future();
  workers::TaskRun run = ShellTask("reported", "true", work_dir_);
  auto handle = worker_->RunTask(run, sink, [&](workers::TaskResult r) {
    EXPECT_EQ(r.exit_code, 0) << r.error.ToString();
    idle_when_reported.set_value(pool.idle());
  });
  ASSERT_EQ(reported.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(reported.get(), 0u) << "the group was given back before the result was reported";
  EXPECT_TRUE(Eventually([&] { return pool.idle() == 1; })) << "and given back after it";
}

}  // namespace
}  // namespace baton::testing
