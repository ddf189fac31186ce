// Spare sandboxes (workers/src/sandbox/spare_sandbox.h), through a real LocalWorker: the sandbox
// of the next task with a network, made ahead and waiting, is the one the task runs in, and it
// is the same sandbox a task builds for itself.
#include <sched.h>
#include <sys/syscall.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/test_env.h"
#include "sandbox/spare_sandbox.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::TaskRun;

// This process's children that are PID 1 of a PID namespace of their own and wait there: spare
// sandboxes (a running task's init is one too, but it has executed the small init: baton-init).
std::vector<pid_t> SpareInits() {
  std::vector<pid_t> out;
  for (pid_t pid : OwnChildren()) {
    std::istringstream in(ProcFile(pid, "status"));
    std::string line, nspid, name;
    while (std::getline(in, line)) {
      if (line.rfind("Name:", 0) == 0) name = line.substr(5);
      if (line.rfind("NSpid:", 0) == 0) nspid = line.substr(6);
    }
    std::istringstream fields(nspid);
    std::vector<std::string> ids{std::istream_iterator<std::string>(fields), {}};
    bool task_init = name.find("baton-init") != std::string::npos;
    if (ids.size() == 2 && ids[1] == "1" && !task_init) out.push_back(pid);
  }
  return out;
}

// Whether `pid` waits in recvmsg(2): a spare that is ready, waiting for its task.
bool WaitsForItsTask(pid_t pid) {
  std::istringstream in(ProcFile(pid, "syscall"));
  long number = -1;
  return (in >> number) && number == SYS_recvmsg;
}

// The one spare, once there is exactly one and it is ready; 0 if there is none after 10 s.
pid_t WaitForSpare() {
  std::vector<pid_t> spares;
  Eventually([&] {
    spares = SpareInits();
    return spares.size() == 1 && WaitsForItsTask(spares[0]);
  });
  return spares.size() == 1 && WaitsForItsTask(spares[0]) ? spares[0] : 0;
}

// What a task sees of its sandbox, less what differs from task to task (mount ids, its work
// mount's name, its pooled groups' names) and from worker to worker (the data dir masked).
const char kLookAround[] =
    "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; echo pid=$$; ls /tmp; ls /dev | tr '\\n' "
    "' ';"
    "echo; cat /proc/self/uid_map; grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status; id;"
    "cut -d' ' -f5 /proc/self/mountinfo | sed -e 's|^/tmp/build/.*|/tmp/build/W|' -e "
    "'s|^/var/tmp/baton-worker-test-.*|DATA|' | sort;"
    "grep -c /baton/ /proc/self/cgroup; ls /root 2>&1 | head -1;"
    "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' '";

class SpareSandbox : public SandboxedWorkerFixture {
 protected:
  // The spare a worker makes once its probe passed, after its first task (which may or may not
  // have found it ready).
  pid_t FirstSpare() {
    auto first = Sh("true");
    EXPECT_TRUE(first.result.error.ok()) << first.result.error.ToString();
    return WaitForSpare();
  }
  Finished Look(workers::Worker& worker, const std::string& id) {
    TaskRun run;
    run.id = id;
    run.hostname = "look";
    run.path = "/bin/sh";
    run.args = {"-c", kLookAround};
    run.work_dir = NewWorkDir(id);
    return RunAndWait(worker, run);
  }
};

// Whether the task that ran `kWhere` ran in a spare: a spare's init, made before its task's groups
// were known, stays in the worker's groups; a sandbox built for its task has its init in them.
const char kWhere[] =
    "[ \"$(cat /proc/1/cgroup)\" = \"$(cat /proc/self/cgroup)\" ] && echo built || echo spare";

// The worker's start-up probe is made by its first spare (NamespaceSandbox::Check): once the
// worker has answered, that spare waits, no sandbox of the probe's own was built (it would have
// made its work dir), and the first task runs in it.
TEST_F(SpareSandbox, TheWorkersProbeIsItsFirstSpareAndTheFirstTaskRunsInIt) {
  ASSERT_EQ(worker_->isolation(), workers::IsolationLevel::kNamespaces);
  pid_t spare = WaitForSpare();
  ASSERT_NE(spare, 0) << "no spare made by the probe";
  EXPECT_FALSE(fs::exists(data_dir_ + "/worker/sandbox/probe-work")) << "a probe of its own ran";
  auto f = Sh(kWhere);
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.sink->Text(), "spare\n") << f.sink->Text(workers::OutputStream::kStderr);
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(spare)));
}

// Without a first spare, the worker's start does not wait for one: the probe of its own answers
// (NamespaceSandbox::Check falls back to it), told why right away.
TEST(SpareSandboxesFirst, AFirstSpareThatCannotBeMadeAnswersAtOnceWithWhy) {
  using Root = std::shared_ptr<const ScopedFd>;
  workers::sandbox::SpareSandboxes failing(
      [] { return Result<Root>(FailedPrecondition("no root here")); }, -1, -1,
      /*probe_first=*/true);
  failing.Start();
  auto started = std::chrono::steady_clock::now();
  Status first = failing.AwaitFirst(std::chrono::seconds(30));
  EXPECT_EQ(first.code(), StatusCode::kFailedPrecondition) << first.ToString();
  EXPECT_NE(first.message().find("no root here"), std::string::npos) << first.ToString();
  workers::sandbox::SpareSandboxes rootless([] { return Result<Root>(Root()); }, -1, -1,
                                            /*probe_first=*/true);
  rootless.Start();
  Status none = rootless.AwaitFirst(std::chrono::seconds(30));
  EXPECT_EQ(none.code(), StatusCode::kUnavailable) << none.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_F(SpareSandbox, TheNextTaskWithANetworkRunsInTheSandboxMadeAheadForIt) {
  pid_t spare = FirstSpare();
  ASSERT_NE(spare, 0) << "no spare sandbox was made after the first task";
  WriteFile(fs::path(work_dir_) / "input.txt", "from the build");
  auto f = Sh("cat input.txt; echo; pwd; echo made > output.txt; hostname");
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.result.exit_code, 0) << f.sink->Text(workers::OutputStream::kStderr);
  std::string text = f.sink->Text();
  EXPECT_EQ(text.rfind("from the build\n/tmp/build/", 0), 0u) << text;
  EXPECT_EQ(ReadFile(fs::path(work_dir_) / "output.txt"), "made\n");
  // The spare became the task's init and ended with it; another waits for the next task.
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(spare)));
  pid_t next = WaitForSpare();
  EXPECT_NE(next, 0);
  EXPECT_NE(next, spare);
}

TEST_F(SpareSandbox, ATaskSeesTheSameSandboxAsOneThatBuildsItsOwn) {
  ASSERT_NE(FirstSpare(), 0);
  auto spared = Look(*worker_, "spared");
  ASSERT_TRUE(spared.result.error.ok()) << spared.result.error.ToString();
  workers::LocalWorkerOptions options;
  options.data_dir = data_dir_ + "/worker-without-spares";
  options.spare_sandboxes = false;
  workers::LocalWorker without(options);
  auto built = Look(without, "built");
  ASSERT_TRUE(built.result.error.ok()) << built.result.error.ToString();
  EXPECT_EQ(spared.result.exit_code, 0);
  EXPECT_EQ(spared.sink->Text(), built.sink->Text())
      << "stderr: " << spared.sink->Text(workers::OutputStream::kStderr);
  EXPECT_NE(spared.sink->Text().find("look\nbaton-init "), std::string::npos)
      << spared.sink->Text();
  EXPECT_NE(spared.sink->Text().find("pid=2\nbuild\n"), std::string::npos) << spared.sink->Text();
  // Its own network (loopback and the stack's tap), joined after the rest was made ahead.
  EXPECT_NE(spared.sink->Text().find("\nlo tap0 "), std::string::npos) << spared.sink->Text();
}

// A task starts on its init's CPU (ChildPlan's `cpus`), and then it and its init may run on any
// CPU the worker may: neither stays pinned, in a spare or in a sandbox the task builds itself.
TEST_F(SpareSandbox, ATaskAndItsInitMayRunOnEveryCpuTheWorkerMay) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  if (CPU_COUNT(&mine) < 2) GTEST_SKIP() << "one CPU: a pinned task would look the same";
  std::string cpus;
  for (std::istringstream in(ReadFile("/proc/self/status")); std::getline(in, cpus);) {
    if (cpus.rfind("Cpus_allowed_list:", 0) == 0) break;
  }
  cpus = cpus.substr(cpus.find('\t') + 1);
  ASSERT_FALSE(cpus.empty());
  const std::string expected = "task " + cpus + "\ninit " + cpus + "\n";
  TaskRun run;
  run.path = "/bin/sh";
  run.args = {"-c",
              "for p in self 1; do printf '%s ' $( [ $p = 1 ] && echo init || echo task );"
              "grep Cpus_allowed_list /proc/$p/status | cut -f2; done"};
  ASSERT_NE(FirstSpare(), 0);
  run.id = "spared";
  run.work_dir = NewWorkDir(run.id);
  auto spared = RunAndWait(*worker_, run);
  ASSERT_TRUE(spared.result.error.ok()) << spared.result.error.ToString();
  EXPECT_EQ(spared.sink->Text(), expected) << spared.sink->Text(workers::OutputStream::kStderr);
  workers::LocalWorkerOptions options;
  options.data_dir = data_dir_ + "/worker-without-spares";
  options.spare_sandboxes = false;
  workers::LocalWorker without(options);
  run.id = "built";
  run.work_dir = NewWorkDir(run.id);
  auto built = RunAndWait(without, run);
  ASSERT_TRUE(built.result.error.ok()) << built.result.error.ToString();
  EXPECT_EQ(built.sink->Text(), expected) << built.sink->Text(workers::OutputStream::kStderr);
}

// The spares' thread is a batch thread (it does not preempt the report of the task whose end
// woke it); the task in a spare and its init run under the normal policy, as in a sandbox the
// task builds itself. (/proc/<pid>/stat: the 19th field is the nice value, the 41st the policy.)
TEST_F(SpareSandbox, ATaskInASpareRunsUnderTheNormalSchedulingPolicy) {
  const std::string script = "for p in self 1; do cut -d' ' -f19,41 /proc/$p/stat; done";
  ASSERT_NE(FirstSpare(), 0);
  auto spared = Sh(script);
  ASSERT_TRUE(spared.result.error.ok()) << spared.result.error.ToString();
  EXPECT_EQ(spared.sink->Text(), "0 0\n0 0\n") << spared.sink->Text(workers::OutputStream::kStderr);
  // The same as in a sandbox built for its task (here: a hermetic task's).
  TaskRun hermetic;
  hermetic.network = false;
  auto built = Sh(script, hermetic);
  ASSERT_TRUE(built.result.error.ok()) << built.result.error.ToString();
  EXPECT_EQ(built.sink->Text(), "0 0\n0 0\n") << built.sink->Text(workers::OutputStream::kStderr);
}

TEST_F(SpareSandbox, NothingATaskLeavesInItsSandboxReachesTheNextTask) {
  ASSERT_NE(FirstSpare(), 0);
  auto first = Sh("echo left > /tmp/left-behind; echo x > /dev/shm/x; sleep 30 & echo started");
  ASSERT_TRUE(first.result.error.ok()) << first.result.error.ToString();
  ASSERT_NE(WaitForSpare(), 0);
  auto second = Sh("ls /tmp /dev/shm; cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^sleep'");
  ASSERT_TRUE(second.result.error.ok()) << second.result.error.ToString();
  // Nothing of the first task's in its /proc either.
  EXPECT_EQ(second.sink->Text(), "/dev/shm:\n\n/tmp:\nbuild\n0\n");
  EXPECT_TRUE(PidsWithCmdline("sleep 30", /*argv0_prefix=*/false).empty());
}

TEST_F(SpareSandbox, AMissingExecutableInASpareIsAnErrorAndTheNextSpareIsMade) {
  pid_t spare = FirstSpare();
  ASSERT_NE(spare, 0);
  ExpectMissingProgramError(*worker_, work_dir_);
  EXPECT_TRUE(Eventually([&] { return !fs::exists("/proc/" + std::to_string(spare)); }));
  pid_t next = WaitForSpare();
  EXPECT_NE(next, 0);
  EXPECT_NE(next, spare);
  auto ok = Sh("echo fine");
  EXPECT_EQ(ok.sink->Text(), "fine\n");
}

TEST_F(SpareSandbox, AVolumeThatCannotBeMountedFailsTheTaskNotTheSpares) {
  ASSERT_NE(FirstSpare(), 0);
  std::string outside = data_dir_ + "/outside";
  fs::create_directories(outside);
  fs::create_symlink(outside, fs::path(work_dir_) / "escape");
  TaskRun run;
  run.mounts.push_back({NewVolume("in"), "escape/in", /*writable=*/false});
  auto f = Sh("echo ran", run);
  ASSERT_FALSE(f.result.error.ok()) << f.sink->Text();
  EXPECT_NE(f.result.error.message().find("a symbolic link on the way"), std::string::npos)
      << f.result.error.message();
  EXPECT_TRUE(fs::is_empty(outside));
  ASSERT_NE(WaitForSpare(), 0);
  auto ok = Sh("echo fine");
  EXPECT_EQ(ok.sink->Text(), "fine\n");
}

TEST_F(SpareSandbox, HermeticAndPrivilegedTasksBuildTheirOwnAndLeaveTheSpare) {
  pid_t spare = FirstSpare();
  ASSERT_NE(spare, 0);
  TaskRun hermetic;
  hermetic.network = false;
  EXPECT_EQ(Sh("echo h", hermetic).sink->Text(), "h\n");
  TaskRun privileged;
  privileged.privileged = true;
  EXPECT_EQ(Sh("id -u", privileged).sink->Text(), "0\n");
  EXPECT_EQ(WaitForSpare(), spare);
}

// Spares are for tasks that follow one another; beside tasks that run side by side (every CPU
// busy) making one only moves the work and adds its hand-over.
TEST_F(SpareSandbox, NoneIsMadeWhileTasksRunSideBySideAndOneIsOnceTheyFollowOneAnother) {
  ASSERT_NE(FirstSpare(), 0);
  auto start = [&](const std::string& id, const std::string& script) {
    TaskRun run;
    run.id = id;
    run.path = "/bin/sh";
    run.args = {"-c", script};
    run.work_dir = NewWorkDir(id);
    auto done = std::make_shared<std::promise<workers::TaskResult>>();
    auto handle =
        worker_->RunTask(run, std::make_shared<RecordingSink>(),
                         [done](workers::TaskResult r) { done->set_value(std::move(r)); });
    return std::make_pair(std::move(handle), done->get_future());
  };
  auto [first, first_done] = start("side-1", "sleep 0.3");
  ASSERT_TRUE(Eventually([] { return SpareInits().empty(); }));  // the first took the spare
  auto [second, second_done] = start("side-2", "sleep 0.1");
  EXPECT_TRUE(second_done.get().error.ok());
  EXPECT_TRUE(first_done.get().error.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(SpareInits().empty()) << "a spare made after tasks that ran side by side";
  EXPECT_EQ(Sh("echo alone").sink->Text(), "alone\n");
  EXPECT_NE(WaitForSpare(), 0) << "no spare after a task that ran alone";
}

// A spare copies the shared root as it was when it was made: one made before the masks changed
// is dropped when a task would take it, the task builds its own root (masking the new path), and
// spares go on being made on the new root.
TEST_F(SpareSandbox, ASpareMadeBeforeTheMasksChangedIsDroppedAndTheNextIsMadeOnTheNewRoot) {
  std::string later = "/var/tmp/baton-spare-later-" + std::to_string(::getpid());
  workers::LocalWorkerOptions options;
  options.data_dir = data_dir_ + "/masking-worker";
  options.hidden_paths = {later};
  worker_.reset();
  worker_ = std::make_unique<workers::LocalWorker>(options);
  pid_t spare = FirstSpare();
  ASSERT_NE(spare, 0);
  fs::create_directories(later);
  WriteFile(later + "/secret", "later-secret");
  auto f = Sh("cat " + later + "/secret 2>&1; ls -A " + later + " | wc -l");
  std::error_code ec;
  fs::remove_all(later, ec);
  ASSERT_EQ(f.result.exit_code, 0) << f.sink->Text();
  EXPECT_EQ(f.sink->Text().find("later-secret"), std::string::npos) << f.sink->Text();
  EXPECT_NE(f.sink->Text().find("\n0\n"), std::string::npos) << f.sink->Text();
  EXPECT_TRUE(Eventually([&] { return !fs::exists("/proc/" + std::to_string(spare)); }));
  pid_t next = WaitForSpare();
  EXPECT_NE(next, 0) << "dropping a spare stopped the making of spares";
  EXPECT_NE(next, spare);
}

TEST_F(SpareSandbox, NoSpareOutlivesItsWorker) {
  ASSERT_NE(FirstSpare(), 0);
  worker_.reset();
  EXPECT_TRUE(SpareInits().empty());
}

TEST_F(SpareSandbox, AWorkerWithoutSparesMakesNone) {
  workers::LocalWorkerOptions options;
  options.data_dir = data_dir_ + "/worker-without-spares";
  options.spare_sandboxes = false;
  worker_.reset();
  worker_ = std::make_unique<workers::LocalWorker>(options);
  auto f = Sh("echo fine");
  EXPECT_EQ(f.sink->Text(), "fine\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(SpareInits().empty());
}

}  // namespace
}  // namespace baton::testing
