// Issue 16, the shared root: an unprivileged task on the host's root copies a mount namespace the
// worker made once (workers/src/sandbox/shared_root.h) instead of building its root. What the
// tasks share must be read-only to them, nothing a task does may reach the next task, and the
// masks must stay those worked out for each task. Real namespaces (root).
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/test_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::TaskRun;

class SharedRoot : public SandboxedWorkerFixture {
 protected:
  Finished Hermetic(const std::string& script) {
    TaskRun run;
    run.network = false;
    return Sh(script, run);
  }

  // A worker masking `hidden` runs `look` before and after `change` is made on the host; each
  // run must succeed and print "0" (nothing of what is masked shows).
  void ExpectMaskedAcross(const std::vector<std::string>& hidden, const std::string& look,
                          const std::function<void()>& change) {
    workers::LocalWorkerOptions options;
    options.data_dir = data_dir_ + "/masking-worker";
    options.hidden_paths = hidden;
    workers::LocalWorker worker(options);
    ASSERT_EQ(worker.isolation(), workers::IsolationLevel::kNamespaces) << worker.refusal_reason();
    auto before = RunAndWait(worker, ShellTask("before", look, work_dir_));
    ASSERT_EQ(before.result.exit_code, 0) << before.sink->Text();
    EXPECT_EQ(before.sink->Text(), "0\n");
    change();
    auto after = RunAndWait(worker, ShellTask("after", look, work_dir_));
    ASSERT_EQ(after.result.exit_code, 0) << after.sink->Text();
    EXPECT_EQ(after.sink->Text(), "0\n");
  }
};

// Every task's /dev is the same tmpfs now: read-only, its devices usable as before.
TEST_F(SharedRoot, TheDevEveryTaskSharesIsReadOnlyAndItsDevicesWork) {
  for (bool hermetic : {false, true}) {
    std::string script =
        "awk '$5 == \"/dev\" { o = $6 } END { print o }' /proc/self/mountinfo | cut -d, -f1; "
        "touch /dev/left 2>/dev/null && echo wrote; "
        "echo x > /dev/null && head -c 4 /dev/zero | wc -c; ls /dev/shm /dev/pts >/dev/null && "
        "echo dirs";
    auto f = hermetic ? Hermetic(script) : Sh(script);
    ASSERT_EQ(f.result.exit_code, 0) << f.sink->Text();
    EXPECT_EQ(f.sink->Text(), "ro\n4\ndirs\n") << "hermetic " << hermetic;
  }
}

// What one task writes or mounts, wherever it may, is gone for the next; the shared root is
// unchanged (a mount made in a namespace of the task's own never reaches it).
TEST_F(SharedRoot, ATaskLeavesNothingInTheRootForTheNextTask) {
  for (bool hermetic : {false, true}) {
    std::string leave =
        "echo x > /tmp/left; echo x > /dev/shm/left; touch /dev/left /etc/left 2>/dev/null; "
        "mount -t tmpfs none /etc 2>/dev/null; umount -l /dev 2>/dev/null; "
        "if command -v unshare >/dev/null; then "
        "  unshare -Urm sh -c 'mount -t tmpfs x /etc && touch /etc/left' || echo no-userns; "
        "fi; echo done";
    auto first = hermetic ? Hermetic(leave) : Sh(leave);
    ASSERT_EQ(first.result.exit_code, 0) << first.sink->Text();
    std::string look =
        "ls -A /tmp /dev/shm; ls /dev/left /etc/left 2>&1 | grep -c 'No such'; "
        "test -s /etc/passwd && echo passwd";
    auto next = hermetic ? Hermetic(look) : Sh(look);
    ASSERT_EQ(next.result.exit_code, 0) << next.sink->Text();
    EXPECT_EQ(next.sink->Text(), "/dev/shm:\n\n/tmp:\nbuild\n2\npasswd\n")
        << "hermetic " << hermetic;
  }
}

// The masks are those of each task's start: a path to mask that appears after the worker has
// made its shared root is masked for the next task (the root is made again).
TEST_F(SharedRoot, APathToMaskThatAppearsLaterIsMaskedForTheNextTask) {
  std::string later = "/var/tmp/baton-shared-root-later-" + std::to_string(::getpid());
  workers::LocalWorkerOptions options;
  options.data_dir = data_dir_ + "/masking-worker";
  options.hidden_paths = {later};
  workers::LocalWorker worker(options);
  ASSERT_EQ(worker.isolation(), workers::IsolationLevel::kNamespaces) << worker.refusal_reason();
  TaskRun run = ShellTask("before", "echo ran", work_dir_);
  auto before = RunAndWait(worker, run);
  ASSERT_EQ(before.result.exit_code, 0) << before.sink->Text();

  fs::create_directories(later);
  WriteFile(later + "/secret", "later-secret");
  run = ShellTask("after", "cat " + later + "/secret 2>&1; ls -A " + later + " | wc -l", work_dir_);
  auto after = RunAndWait(worker, run);
  std::error_code ec;
  fs::remove_all(later, ec);
  ASSERT_EQ(after.result.exit_code, 0) << after.sink->Text();
  EXPECT_EQ(after.sink->Text().find("later-secret"), std::string::npos) << after.sink->Text();
  EXPECT_NE(after.sink->Text().find("\n0\n"), std::string::npos) << after.sink->Text();
}

// A masked path removed and made again on the host (a data dir moved aside and made anew, an SSH
// host key rotated by a rename) is masked for the next task too. The kernel detaches a mount from
// every namespace once the file it covers is replaced by a rename over it (and a directory's mask
// moves away with it when it is renamed), so the shared root's mask over the old one is gone: the
// root must be made again, though the paths to mask read the same.
TEST_F(SharedRoot, AMaskedPathMadeAgainOnTheHostIsMaskedForTheNextTask) {
  std::string again = "/var/tmp/baton-shared-root-again-" + std::to_string(::getpid());
  fs::create_directories(again + "/dir");
  WriteFile(again + "/file", "old-file");
  ExpectMaskedAcross({again + "/dir", again + "/file"},
                     "cat " + again + "/file; ls -A " + again + "/dir | wc -l", [&] {
                       fs::rename(again + "/dir", again + "/old-dir");
                       fs::create_directories(again + "/dir");
                       WriteFile(again + "/dir/secret", "new-secret");
                       WriteFile(again + "/new-file", "new-file");
                       fs::rename(again + "/new-file", again + "/file");
                     });
  std::error_code ec;
  fs::remove_all(again, ec);
}

// A masked directory renamed away on the host (a data dir moved aside) and made again, and
// nothing else changed: the rename moved the mask with the old directory, so the root must be
// made again for the new one to be masked.
TEST_F(SharedRoot, AMaskedDirectoryRenamedAwayAndMadeAgainIsMaskedForTheNextTask) {
  std::string again = "/var/tmp/baton-shared-root-moved-" + std::to_string(::getpid());
  fs::create_directories(again + "/dir");
  ExpectMaskedAcross({again + "/dir"}, "ls -A " + again + "/dir | wc -l", [&] {
    fs::rename(again + "/dir", again + "/old-dir");
    fs::create_directories(again + "/dir");
    WriteFile(again + "/dir/secret", "new-secret");
  });
  std::error_code ec;
  fs::remove_all(again, ec);
}

// The worker's own data dir holds every task's work dir and is masked: each task still gets its
// own work dir and volumes (cloned from the host's view before the shared root is copied), and
// only them.
TEST_F(SharedRoot, ATaskSeesItsOwnWorkDirButNotTheWorkersDataDir) {
  WriteFile(work_dir_ + "/mine", "mine");
  std::string other = NewWorkDir("other");
  WriteFile(other + "/theirs", "theirs");
  auto f = Sh("cat mine; ls -A " + data_dir_ +
              "/worker | wc -l; ls /tmp/build/*/theirs 2>&1 | "
              "grep -c 'No such'");
  ASSERT_EQ(f.result.exit_code, 0) << f.sink->Text();
  EXPECT_EQ(f.sink->Text(), "mine0\n1\n");
}

// The worker keeps each sandbox's mount namespace open until the sandbox has ended, then lets it
// go on a thread of its own (the unmounting waits for the kernel): none of them stays held.
size_t MountNamespacesHeld() {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    std::string target = fs::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind("mnt:[", 0) == 0) ++n;
  }
  return n;
}

// The count once it stopped changing for 200 ms (at most 10 s): the worker's network pool holds
// a namespace for a moment while it makes the network that replaces one a task took.
size_t SettledMountNamespacesHeld() {
  size_t last = MountNamespacesHeld();
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    size_t now = MountNamespacesHeld();
    if (now == last) break;
    last = now;
  }
  return last;
}

using SandboxEnd = SharedRoot;

TEST_F(SandboxEnd, NoSandboxsMountNamespaceStaysHeldAfterItsEnd) {
  ASSERT_EQ(Sh("true").result.exit_code, 0);  // the shared roots the others copy are made
  ASSERT_EQ(Hermetic("true").result.exit_code, 0);
  size_t before = SettledMountNamespacesHeld();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Sh("true").result.exit_code, 0);
    ASSERT_EQ(Hermetic("true").result.exit_code, 0);
  }
  EXPECT_TRUE(Eventually([&] { return MountNamespacesHeld() == before; }))
      << MountNamespacesHeld() << " held, " << before << " before";
}

}  // namespace
}  // namespace baton::testing
