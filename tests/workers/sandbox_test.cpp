// NamespaceSandbox, through a real LocalWorker: real namespaces, mounts and processes (root).
#include <sys/utsname.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "baton/workers/sandbox.h"
#include "fakes/test_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::IsolationLevel;
using workers::OutputStream;
using workers::TaskRun;

class Sandbox : public SandboxedWorkerFixture {};

TEST_F(Sandbox, TheRootIsReadOnly) {
  auto f = Sh("touch /usr/baton-sandbox-test 2>&1; echo rc=$?");
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_NE(f.sink->Text().find("Read-only file system"), std::string::npos) << f.sink->Text();
  EXPECT_NE(f.sink->Text().find("rc=1"), std::string::npos);
  EXPECT_FALSE(fs::exists("/usr/baton-sandbox-test"));
}

TEST_F(Sandbox, SubmountsOfTheRootAreReadOnlyToo) {
  // A recursive bind + one read-only remount would leave these writable.
  auto f =
      Sh("mkdir /sys/fs/cgroup/pids/baton-escape 2>&1; echo rc=$?; "
         "touch /dev/shm/../../etc/x 2>&1; echo rc=$?");
  EXPECT_NE(f.sink->Text().find("Read-only file system"), std::string::npos) << f.sink->Text();
  EXPECT_EQ(f.sink->Text().find("rc=0"), std::string::npos) << f.sink->Text();
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/pids/baton-escape"));
}

// Mount point -> per-mount options (the 6th field) of each line of a mountinfo text; a mount
// point listed twice keeps its last (topmost) mount.
std::map<std::string, std::string> SandboxTestMountOptions(const std::string& mountinfo) {
  std::map<std::string, std::string> out;
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, options;
    if (fields >> id >> parent >> dev >> root >> point >> options) out[point] = options;
  }
  return out;
}

bool SandboxTestHasOption(const std::string& options, const std::string& name) {
  return ("," + options + ",").find("," + name + ",") != std::string::npos;
}

// The host's root and every mount under it is made read-only in one step (mount_setattr,
// recursive): each mount must still keep the nosuid/nodev/noexec it has on the host.
TEST_F(Sandbox, EveryMountOfTheHostsRootIsReadOnlyAndKeepsItsFlags) {
  auto f = Sh("cat /proc/self/mountinfo");
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  auto inside = SandboxTestMountOptions(f.sink->Text());
  auto host = SandboxTestMountOptions(ReadFile("/proc/self/mountinfo"));
  ASSERT_GT(inside.size(), 5u) << f.sink->Text();
  int compared = 0;
  for (const auto& [point, options] : inside) {
    bool own = point == "/proc" || point == "/dev" || point == "/tmp" ||
               point.rfind("/proc/", 0) == 0 || point.rfind("/dev/", 0) == 0 ||
               point.rfind("/tmp/", 0) == 0;
    if (own) continue;  // the sandbox's own /proc, /dev, /tmp and the work mount
    EXPECT_TRUE(SandboxTestHasOption(options, "ro")) << point << " is " << options;
    auto on_host = host.find(point);
    if (on_host == host.end()) continue;  // a mask
    ++compared;
    for (const char* flag : {"nosuid", "nodev", "noexec"}) {
      if (SandboxTestHasOption(on_host->second, flag)) {
        EXPECT_TRUE(SandboxTestHasOption(options, flag)) << point << " lost " << flag;
      }
    }
  }
  EXPECT_GT(compared, 1) << "the host's submounts are in the task's root";
}

TEST_F(Sandbox, AnUnprivilegedTaskCannotRemountTheRootWritable) {
  auto f = Sh("mount -o remount,rw / 2>&1; echo rc=$?; touch /usr/baton-remount-test; echo rc=$?");
  EXPECT_EQ(f.sink->Text().find("rc=0"), std::string::npos) << f.sink->Text();
  EXPECT_FALSE(fs::exists("/usr/baton-remount-test"));
}

TEST_F(Sandbox, TheWorkDirIsWritableAtTheWorkMountAndIsTheDefaultDirectory) {
  TaskRun run;
  run.work_mount = "/tmp/build/abc123";
  auto f = Sh("pwd; echo built > artifact.txt", run);
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.result.exit_code, 0);
  EXPECT_EQ(f.sink->Text(), "/tmp/build/abc123\n");
  EXPECT_EQ(ReadFile(fs::path(work_dir_) / "artifact.txt"), "built\n");
}

TEST_F(Sandbox, TheDefaultWorkMountIsUnderTmpBuild) {
  auto f = Sh("pwd");
  EXPECT_TRUE(std::regex_match(f.sink->Text(), std::regex("/tmp/build/[0-9a-f]{8}\n")))
      << f.sink->Text();
}

TEST_F(Sandbox, AnotherBuildsDirectoryIsNotVisible) {
  std::string other = NewWorkDir("other-build");
  WriteFile(fs::path(other) / "secret", "s3cret");
  auto f = Sh("cat " + other + "/secret 2>&1; echo rc=$?; touch " + other + "/x 2>&1; echo rc=$?");
  EXPECT_EQ(f.sink->Text().find("s3cret"), std::string::npos) << f.sink->Text();
  EXPECT_EQ(f.sink->Text().find("rc=0"), std::string::npos) << f.sink->Text();
  EXPECT_FALSE(fs::exists(fs::path(other) / "x"));
}

TEST_F(Sandbox, TmpIsPrivate) {
  std::string marker = "/tmp/baton-private-tmp-" + std::to_string(getpid());
  auto f = Sh("ls /tmp; echo x > " + marker + " && echo wrote");
  EXPECT_EQ(f.sink->Text(), "build\nwrote\n");  // only the work mount's parent
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(Sandbox, TheTaskCannotSeeHostProcesses) {
  auto f = Sh("echo pid=$$; ls /proc | grep -c '^[0-9]'");
  // PID 1 is the sandbox's init; the shell is 2; ls and grep are the only others.
  EXPECT_NE(f.sink->Text().find("pid=2\n"), std::string::npos) << f.sink->Text();
  int count = std::stoi(f.sink->Text().substr(f.sink->Text().find('\n') + 1));
  EXPECT_LE(count, 5);
}

TEST_F(Sandbox, TheTaskHasItsOwnHostname) {
  TaskRun run;
  run.hostname = "task-host";
  auto f = Sh("hostname", run);
  EXPECT_EQ(f.sink->Text(), "task-host\n");
  utsname u;
  uname(&u);
  EXPECT_NE(std::string(u.nodename), "task-host");
}

TEST_F(Sandbox, AHermeticTaskHasOnlyLoopbackAndItIsUp) {
  TaskRun run;
  run.network = false;
  auto f = Sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; ip -o link show lo", run);
  std::string text = f.sink->Text();
  EXPECT_EQ(text.substr(0, 3), "lo\n") << text;
  EXPECT_NE(text.find("LOOPBACK,UP"), std::string::npos) << text;
  auto host = Sh("tail -n +3 /proc/net/dev | wc -l");
  EXPECT_GT(std::stoi(host.sink->Text()), 1) << "with network, the host's interfaces are there";
}

TEST_F(Sandbox, DevHasTheUsualDevicesAndNothingElse) {
  auto f =
      Sh("head -c 5 /dev/urandom | wc -c; head -c 3 /dev/zero | wc -c; echo x > /dev/null && "
         "echo null-ok; ls /dev | tr '\\n' ' '");
  EXPECT_EQ(f.sink->Text(),
            "5\n3\nnull-ok\nfd full null ptmx pts random shm stderr stdin stdout tty urandom "
            "zero \n");
}

TEST_F(Sandbox, EnvironmentIsExactlyAsGivenPlusPathAndHome) {
  setenv("BATON_LEAK_CHECK", "leaked", 1);
  TaskRun run;
  run.work_mount = "/tmp/build/e";
  run.env = {{"GREETING", "hello world"}, {"EMPTY", ""}};
  auto f = Sh("env | sort", run);
  EXPECT_EQ(f.sink->Text(),
            "EMPTY=\nGREETING=hello world\nHOME=/root\n"
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            "PWD=/tmp/build/e\n");
}

TEST_F(Sandbox, DirIsRelativeToTheWorkMount) {
  fs::create_directories(fs::path(work_dir_) / "repo/sub");
  TaskRun run;
  run.work_mount = "/tmp/build/w";
  run.dir = "repo/sub";
  auto f = Sh("pwd", run);
  EXPECT_EQ(f.sink->Text(), "/tmp/build/w/repo/sub\n");
}

TEST_F(Sandbox, RunsAsTheGivenUserByNameOrNumber) {
  TaskRun by_name;
  by_name.user = "nobody";
  EXPECT_EQ(Sh("id -u; id -g; echo $HOME", by_name).sink->Text(), "65534\n65534\n/nonexistent\n");
  TaskRun by_number;
  by_number.user = "4321";
  EXPECT_EQ(Sh("id -u", by_number).sink->Text(), "4321\n");
}

TEST_F(Sandbox, AnUnknownUserIsAnError) {
  TaskRun run;
  run.user = "no-such-user-here";
  auto f = Sh("true", run);
  EXPECT_FALSE(f.result.error.ok());
  EXPECT_NE(f.result.error.message().find("no-such-user-here"), std::string::npos);
}

TEST_F(Sandbox, AMissingExecutableIsAnErrorNotAnExitCode) {
  ExpectMissingProgramError(*worker_, work_dir_);
  TaskRun run;
  run.id = "missing";
  run.work_dir = work_dir_;
  run.path = "no-such-command-on-path";
  auto f = RunAndWait(*worker_, run);
  ASSERT_FALSE(f.result.error.ok());
  EXPECT_NE(f.result.error.message().find("no-such-command-on-path"), std::string::npos);
}

TEST_F(Sandbox, AProgramIsFoundOnPathOrRelativeToTheDirectory) {
  WriteFile(fs::path(work_dir_) / "ci/test.sh", "#!/bin/sh\necho from-script \"$@\"\n");
  fs::permissions(fs::path(work_dir_) / "ci/test.sh", fs::perms::owner_all);
  TaskRun run;
  run.id = "relative";
  run.path = "ci/test.sh";
  run.args = {"a b"};
  run.work_dir = work_dir_;
  EXPECT_EQ(RunAndWait(*worker_, run).sink->Text(), "from-script a b\n");
  run.path = "echo";
  run.args = {"from-path"};
  EXPECT_EQ(RunAndWait(*worker_, run).sink->Text(), "from-path\n");
}

TEST_F(Sandbox, VolumesAreMountedReadOnlyOrWritableAsAsked) {
  std::string ro = data_dir_ + "/input", rw = data_dir_ + "/output";
  fs::create_directories(ro);
  fs::create_directories(rw);
  WriteFile(fs::path(ro) / "f", "input-data");
  TaskRun run;
  run.mounts = {{ro, "inputs/repo", false}, {rw, "/opt/out-not-allowed", true}};
  auto bad = Sh("true", run);
  ASSERT_FALSE(bad.result.error.ok()) << "no mount point can be made in the read-only root";
  EXPECT_NE(bad.result.error.message().find("/opt/out-not-allowed"), std::string::npos);
  run.mounts = {{ro, "inputs/repo", false}, {rw, "outputs/out", true}};
  auto f =
      Sh("cat inputs/repo/f; echo; touch inputs/repo/g 2>&1; echo result > outputs/out/r", run);
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_NE(f.sink->Text().find("input-data\n"), std::string::npos);
  EXPECT_NE(f.sink->Text().find("Read-only file system"), std::string::npos);
  EXPECT_EQ(ReadFile(fs::path(rw) / "r"), "result\n");
}

TEST_F(Sandbox, ExitCodesAndSignalsAreReported) {
  EXPECT_EQ(Sh("exit 3").result.exit_code, 3);
  EXPECT_EQ(Sh("kill -TERM $$").result.exit_code, 128 + SIGTERM);
  EXPECT_EQ(Sh("kill -KILL $$").result.exit_code, 128 + SIGKILL);
  EXPECT_EQ(Sh("true").result.exit_code, 0);
}

TEST_F(Sandbox, BackgroundProcessesDoNotOutliveTheTask) {
  std::string marker = "baton-bg-" + std::to_string(getpid());
  auto f = Sh("(exec -a " + marker + " sleep 1000) & setsid sh -c 'exec -a " + marker +
              " sleep 1000' & echo started");
  EXPECT_EQ(f.result.exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return PidsWithCmdline(marker).empty(); }));
}

TEST_F(Sandbox, ARootfsDirectoryReplacesTheHostRoot) {
  TempDir rootfs;
  fs::permissions(rootfs.path(), fs::perms::owner_all | fs::perms::group_exec |
                                     fs::perms::others_exec | fs::perms::others_read);
  CopyWithLibraries("/bin/sh", rootfs.path());
  CopyWithLibraries("/usr/bin/id", rootfs.path());
  WriteFile(rootfs / "etc/passwd",
            "root:x:0:0::/root:/bin/sh\nbuilder:x:1234:99::/home/b:/bin/sh\n");
  WriteFile(rootfs / "etc/marker", "in-the-image");
  TaskRun run;
  run.rootfs = {workers::RootfsSpec::Kind::kDirectory, rootfs.path().string()};
  run.user = "builder";
  run.env = {{"PATH", "/usr/bin:/bin"}};
  auto f =
      Sh("read m < /etc/marker; echo $m; id -u; id -g; echo $HOME; "
         "test -e /usr/bin/env || echo no-host-files; echo > /tmp/x && echo writable-tmp",
         run);
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.sink->Text(), "in-the-image\n1234\n99\n/home/b\nno-host-files\nwritable-tmp\n");
}

// The task's writes land in a layer of its own (overlayfs), never in the rootfs directory.
TEST_F(Sandbox, ATaskWritesItsRootfsInALayerOfItsOwn) {
  TempDir rootfs;
  CopyWithLibraries("/bin/sh", rootfs.path());
  WriteFile(rootfs / "etc/marker", "in-the-image");
  TaskRun run;
  run.rootfs = {workers::RootfsSpec::Kind::kDirectory, rootfs.path().string()};
  auto f =
      Sh("echo new > /etc/x && echo changed > /etc/marker && read m < /etc/marker && echo $m", run);
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.sink->Text(), "changed\n");
  EXPECT_FALSE(fs::exists(rootfs / "etc/x"));
  EXPECT_EQ(ReadFile(rootfs / "etc/marker"), "in-the-image");
  EXPECT_TRUE(fs::is_empty(data_dir_ + "/worker/sandbox/layers"));  // gone with the task
}

}  // namespace
}  // namespace baton::testing
