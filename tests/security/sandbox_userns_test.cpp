// Issue 9: an unprivileged task runs as root of a user namespace mapped to unprivileged host ids,
// so what only the host's root may read stays unreadable; `privileged: true` is the explicit
// opt-out, and the build log says so. Real sandboxes, real files.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "fakes/test_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::IsolationLevel;
using workers::OutputStream;
using workers::TaskRun;

// A host directory outside the worker's own (as another user's home or another Baton's data
// dir would be), with a 0600 secret file in it like the ones Baton writes.
class HostSecret {
 public:
  HostSecret(const std::string& kind, const std::string& file, const std::string& secret)
      : dir_("/var/tmp/baton-" + kind + "-" + std::to_string(::getpid())), secret_(secret) {
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    path_ = dir_ + "/" + file;
    WriteFile(path_, secret + "\n");
    fs::permissions(path_, fs::perms::owner_read | fs::perms::owner_write);
  }
  ~HostSecret() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }
  const std::string& secret() const { return secret_; }

 private:
  std::string dir_, path_, secret_;
};

class UserNamespace : public SandboxedWorkerFixture {
 protected:
  // Options of a second worker that chowns instead of idmapping (as on a filesystem without
  // idmapped mounts).
  workers::LocalWorkerOptions WithoutIdmappedMounts(const std::string& name) {
    workers::LocalWorkerOptions options;
    options.data_dir = data_dir_ + "/" + name;
    options.idmapped_mounts = false;
    return options;
  }
};

TEST_F(UserNamespace, ATaskIsRootOfANamespaceMappedToUnprivilegedHostIds) {
  auto f = Sh("id -u; id -g; awk '{print $1, $2, $3}' /proc/self/uid_map /proc/self/gid_map");
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.sink->Text(), "0\n0\n0 100000 65536\n0 100000 65536\n");
}

TEST_F(UserNamespace, ATaskCannotReadEtcShadow) {
  ASSERT_TRUE(fs::exists("/etc/shadow"));
  auto f = Sh("cat /etc/shadow 2>&1; echo rc=$?");
  EXPECT_NE(f.sink->Text().find("Permission denied"), std::string::npos) << f.sink->Text();
  EXPECT_EQ(f.sink->Text().find("root:"), std::string::npos) << f.sink->Text();
  EXPECT_NE(f.sink->Text().find("rc=1"), std::string::npos);
}

TEST_F(UserNamespace, ATaskCannotReadABatonrcInAHomeOrAnotherDataDirsToken) {
  HostSecret home("home", ".batonrc", "token: batonrc-secret-value");
  HostSecret other("other-data", "admin-token", "other-admin-token-value");
  auto f = Sh("cat " + home.path() + " 2>&1; cat " + other.path() + " 2>&1; echo done");
  std::string text = f.sink->Text();
  EXPECT_EQ(text.find(home.secret()), std::string::npos) << text;
  EXPECT_EQ(text.find(other.secret()), std::string::npos) << text;
  EXPECT_NE(text.find("Permission denied"), std::string::npos) << text;
  EXPECT_NE(text.find("done"), std::string::npos) << text;
}

TEST_F(UserNamespace, ATaskCannotUseSetuidProgramsOrGroupsOfTheHostsRoot) {
  auto f = Sh("id -G; su -c 'cat /etc/shadow' root </dev/null 2>&1 | head -c 200; echo");
  EXPECT_EQ(f.sink->Text().rfind("0\n", 0), 0u)
      << "only the namespace's root group: " << f.sink->Text();
  EXPECT_EQ(f.sink->Text().find("root:"), std::string::npos) << f.sink->Text();
}

TEST_F(UserNamespace, OutputsAreWritableAndReachTheNextStepOwnedByTheServerOnDisk) {
  std::string out = NewVolume("out");
  TaskRun first;
  first.mounts = {{out, "built", true}};
  auto made =
      Sh("echo artifact > built/a && mkdir -p built/d && echo deep > built/d/b && "
         "stat -c %u built/a",
         first);
  ASSERT_TRUE(made.result.error.ok()) << made.result.error.ToString();
  ASSERT_EQ(made.result.exit_code, 0) << made.sink->Text(OutputStream::kStderr);
  EXPECT_EQ(made.sink->Text(), "0\n");
  struct stat st;
  ASSERT_EQ(::stat((out + "/d/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "idmapped: the file is the server's on disk";
  TaskRun second;
  second.mounts = {{out, "input", false}};
  auto read = Sh("cat input/a input/d/b", second);
  EXPECT_EQ(read.sink->Text(), "artifact\ndeep\n") << read.sink->Text(OutputStream::kStderr);
}

TEST_F(UserNamespace, APrivilegedTaskRunsAsTheHostsRootAndTheLogSaysSo) {
  TaskRun run;
  run.privileged = true;
  auto f = Sh("awk '{print $1, $2}' /proc/self/uid_map; head -c 5 /etc/shadow; echo", run);
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.sink->Text(), "0 0\nroot:\n");
  EXPECT_NE(f.sink->Text(OutputStream::kSystem)
                .find("privileged: this task runs as the host's "
                      "root user"),
            std::string::npos)
      << f.sink->Text(OutputStream::kSystem);
  auto plain = Sh("true");
  EXPECT_EQ(plain.sink->Text(OutputStream::kSystem).find("privileged"), std::string::npos);
}

TEST_F(UserNamespace, WithoutIdmappedMountsWritableVolumesAreChownedToTheMappedRoot) {
  workers::LocalWorker worker(WithoutIdmappedMounts("chown-worker"));
  ASSERT_EQ(worker.isolation(), IsolationLevel::kNamespaces) << worker.refusal_reason();
  std::string out = NewVolume("chowned");
  TaskRun run = ShellTask("chown", "echo x > out/f && stat -c %u out/f", NewWorkDir("chown"));
  run.mounts = {{out, "out", true}};
  auto f = RunAndWait(worker, run);
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.sink->Text(), "0\n") << f.sink->Text(OutputStream::kStderr);
  struct stat st;
  ASSERT_EQ(::stat((out + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  EXPECT_EQ(ReadFile(out + "/f"), "x\n") << "the server still reads it";
}

// An image's root owns what root owns in the image (a 0700 rootfs directory, a 0600 file); what
// the task writes goes to its own layer (the image on disk is unchanged) and the host's own files
// stay out of reach.
TaskRun ImageTask(const std::string& id, const std::string& rootfs, const std::string& work_dir) {
  TaskRun run = ShellTask(id,
                          "stat -c %u /; read s < /etc/image-secret && echo $s; "
                          "echo > /etc/x 2>/dev/null || echo ro",
                          work_dir);
  run.rootfs = {workers::RootfsSpec::Kind::kDirectory, rootfs};
  run.env = {{"PATH", "/usr/bin:/bin"}};
  return run;
}

void MakeImage(const fs::path& rootfs) {
  CopyWithLibraries("/bin/sh", rootfs);
  CopyWithLibraries("/usr/bin/stat", rootfs);
  WriteFile(rootfs / "etc/image-secret", "image-only\n");
  fs::permissions(rootfs / "etc/image-secret", fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(rootfs, fs::perms::owner_all);  // as mkdtemp leaves it
}

TEST_F(UserNamespace, AnImagesRootIsTheTasksRootAndItsWritesStayInItsLayer) {
  TempDir rootfs;
  MakeImage(rootfs.path());
  auto f = RunAndWait(*worker_, ImageTask("image", rootfs.path().string(), NewWorkDir("image")));
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.sink->Text(), "0\nimage-only\n") << f.sink->Text(OutputStream::kStderr);
  EXPECT_FALSE(fs::exists(rootfs.path() / "etc/x")) << "the task's write reached the image";
  struct stat st;
  ASSERT_EQ(::stat(rootfs.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "an idmapped image keeps its owners on disk";
}

TEST_F(UserNamespace, WithoutIdmappedMountsAnImageIsChownedToTheMappedRoot) {
  workers::LocalWorker worker(WithoutIdmappedMounts("chown-image-worker"));
  ASSERT_EQ(worker.isolation(), IsolationLevel::kNamespaces) << worker.refusal_reason();
  TempDir rootfs;
  MakeImage(rootfs.path());
  auto f = RunAndWait(worker, ImageTask("image", rootfs.path().string(), NewWorkDir("image2")));
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.sink->Text(), "0\nimage-only\n") << f.sink->Text(OutputStream::kStderr);
  EXPECT_FALSE(fs::exists(rootfs.path() / "etc/x")) << "the task's write reached the image";
  struct stat st;
  ASSERT_EQ(::stat((rootfs.path() / "etc/image-secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
}

}  // namespace
}  // namespace baton::testing
