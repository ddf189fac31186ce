// Issue 9: what the worker and the server keep on disk is theirs alone. An unpacked image holds
// setuid programs and device nodes owned by root (as its layers say), build dirs hold other
// teams' code and artifacts hold their outputs: another user of the host must not reach them.
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "baton/workers/artifact_store.h"
#include "baton/workers/local_worker.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

mode_t Mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// errno of access(path, F_OK) as user and group nobody (65534), or 0 when it was allowed.
int AccessAsNobody(const fs::path& path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(255);
    _exit(::access(path.c_str(), F_OK) == 0 ? 0 : errno);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(PrivateDirs, TheWorkersDirIsItsOwnersAloneEvenWhenItExistedBefore) {
  TempDir dir;
  fs::path data = dir / "worker";
  fs::create_directories(data / "images/sha256-abc/rootfs/usr/bin");
  WriteFile(data / "images/sha256-abc/rootfs/usr/bin/setuid-shell", "#!/bin/sh\n");
  fs::permissions(data, fs::perms::all);  // 0777, as an old Baton or a careless admin left it
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_exec);
  ASSERT_EQ(AccessAsNobody(data / "images/sha256-abc/rootfs/usr/bin/setuid-shell"), 0);

  workers::LocalWorkerOptions options;
  options.data_dir = data.string();
  workers::LocalWorker worker(options);

  EXPECT_EQ(Mode(data), 0700u);
  EXPECT_EQ(AccessAsNobody(data / "images/sha256-abc/rootfs/usr/bin/setuid-shell"), EACCES);
}

TEST(PrivateDirs, AFreshWorkerDirIsMadePrivate) {
  TempDir dir;
  workers::LocalWorkerOptions options;
  options.data_dir = (dir / "a/b/worker").string();
  workers::LocalWorker worker(options);
  EXPECT_EQ(Mode(dir / "a/b/worker"), 0700u);
}

TEST(PrivateDirs, TheArtifactStoreIsPrivate) {
  TempDir dir;
  auto store = workers::OpenLocalArtifactStore((dir / "artifacts").string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(Mode(dir / "artifacts"), 0700u);
}

}  // namespace
}  // namespace baton::testing
