// SpareDirectories: a finished build's emptied directories become the next builds' directories.
#include "baton/runner/spare_directories.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "fakes/test_env.h"
#include "runner/engine_harness.h"
#include "runner/executor_harness.h"

namespace baton::runner {
namespace {

namespace fs = std::filesystem;
using baton::testing::TempDir;
using baton::testing::WriteFile;

ino_t Inode(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

// A finished build's directory: its journal, a volume with a file, a task's work dir with one.
fs::path MakeFinishedBuild(const fs::path& root, const std::string& name) {
  fs::path dir = root / "builds" / name;
  WriteFile(dir / "journal.jsonl", "{}\n");
  WriteFile(dir / "volumes" / "1" / "version", "v1\n");
  WriteFile(dir / "work-1" / "out.txt", "made by the task\n");
  return dir;
}

// The same, with its own directory changed (its mode) so that it is not kept: its directories
// are kept each on its own instead (volumes/1, volumes/, work-1).
fs::path MakeFinishedBuildOfLooseDirectories(const fs::path& root, const std::string& name) {
  fs::path dir = MakeFinishedBuild(root, name);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  return dir;
}

TEST(SpareDirectories, ABuildsEmptiedDirectoryIsKeptWholeAndTakenIntoPlaceWithItsDirectories) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs");
  fs::path finished = MakeFinishedBuild(tmp.path(), "1");
  const ino_t build_dir = Inode(finished);
  const ino_t work_dir = Inode(finished / "work-1");
  spares.Recycle(finished);
  EXPECT_FALSE(fs::exists(finished));
  EXPECT_EQ(spares.trees(), 1u);  // the build's directory with volumes/, volumes/1/, work-1/
  EXPECT_EQ(spares.size(), 0u);

  fs::path next = tmp.path() / "builds" / "2";
  ASSERT_TRUE(spares.TakeTreeInto(next));
  EXPECT_EQ(Inode(next), build_dir);
  EXPECT_EQ(Inode(next / "work-1"), work_dir);
  for (const char* dir : {"work-1", "volumes/1"}) {
    EXPECT_TRUE(fs::is_empty(next / dir)) << dir;
    EXPECT_TRUE(spares.TakeInto(next / dir)) << dir;  // there already: handed out
  }
  EXPECT_FALSE(spares.TakeInto(next / "work-1"));  // once: then it is a directory like any other
  EXPECT_FALSE(spares.TakeInto(next / "work-2"));  // not in the tree, and no spare: the caller
  EXPECT_FALSE(fs::exists(next / "work-2"));       // mkdirs
  EXPECT_FALSE(spares.TakeTreeInto(tmp.path() / "builds" / "3"));  // none left
  EXPECT_FALSE(fs::exists(tmp.path() / "builds" / "3"));
}

TEST(SpareDirectories, ADirectoryOfATakenTreeThatItsBuildDidNotUseIsKeptOnItsOwnNotInTheTree) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs");
  spares.Recycle(MakeFinishedBuild(tmp.path(), "1"));
  fs::path second = tmp.path() / "builds" / "2";
  ASSERT_TRUE(spares.TakeTreeInto(second));
  ASSERT_TRUE(spares.TakeInto(second / "work-1"));  // a build of a job without a get
  spares.Recycle(second);
  EXPECT_EQ(spares.trees(), 1u);
  EXPECT_EQ(spares.size(), 2u);  // volumes/ and volumes/1, which the second build did not use

  fs::path third = tmp.path() / "builds" / "3";
  ASSERT_TRUE(spares.TakeTreeInto(third));
  EXPECT_TRUE(fs::is_directory(third / "work-1"));
  EXPECT_FALSE(fs::exists(third / "volumes"));
  ASSERT_TRUE(spares.TakeInto(third / "volumes" / "1"));  // from the two on their own
  EXPECT_EQ(spares.size(), 0u);
  ASSERT_TRUE(spares.TakeInto(third / "work-1"));
  spares.Recycle(third);  // a volume in volumes/ used: both in the tree again
  ASSERT_TRUE(spares.TakeTreeInto(tmp.path() / "builds" / "4"));
  EXPECT_TRUE(fs::is_directory(tmp.path() / "builds" / "4" / "volumes" / "1"));
  EXPECT_TRUE(fs::is_directory(tmp.path() / "builds" / "4" / "work-1"));
}

TEST(SpareDirectories, AnUnchangedTreeIsTakenWhereItIsListedWhenTaken) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs", /*max_spares=*/32, /*listed_when_taken=*/true);
  spares.Recycle(MakeFinishedBuild(tmp.path(), "1"));
  fs::path next = tmp.path() / "builds" / "2";
  ASSERT_TRUE(spares.TakeTreeInto(next));
  EXPECT_TRUE(fs::is_empty(next / "volumes" / "1"));
  EXPECT_TRUE(fs::is_empty(next / "work-1"));
}

TEST(SpareDirectories, ABuildsDirectoriesThatCannotBeKeptWholeAreKeptEachOnItsOwn) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs");
  fs::path finished = MakeFinishedBuildOfLooseDirectories(tmp.path(), "1");
  ino_t work_dir = Inode(finished / "work-1");
  spares.Recycle(finished);
  EXPECT_FALSE(fs::exists(finished));
  EXPECT_EQ(spares.size(), 3u);  // volumes/, volumes/1/, work-1/; not the chmod-ed build dir
  EXPECT_EQ(spares.trees(), 0u);

  std::vector<ino_t> taken;
  for (const char* next : {"2", "2/work-1", "2/work-2"}) {
    fs::path path = tmp.path() / "builds" / next;
    ASSERT_TRUE(spares.TakeInto(path)) << next;
    EXPECT_TRUE(fs::is_directory(path));
    EXPECT_TRUE(fs::is_empty(path));
    taken.push_back(Inode(path));
  }
  EXPECT_NE(std::find(taken.begin(), taken.end(), work_dir), taken.end());
  EXPECT_FALSE(spares.TakeInto(tmp.path() / "builds" / "3"));  // none left: the caller mkdirs
  EXPECT_FALSE(fs::exists(tmp.path() / "builds" / "3"));
}

TEST(SpareDirectories,
     AnExistingDirectoryIsNeverReplacedAndNothingIsMadeWhenMoreThanAParentIsMissing) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs");
  spares.Recycle(MakeFinishedBuild(tmp.path(), "1"));
  spares.Recycle(MakeFinishedBuildOfLooseDirectories(tmp.path(), "2"));
  const size_t ready = spares.size();
  fs::path cache = tmp.path() / "caches" / "job";
  fs::create_directories(cache);
  ino_t before = Inode(cache);
  EXPECT_FALSE(spares.TakeInto(cache));
  EXPECT_FALSE(spares.TakeTreeInto(cache));
  EXPECT_EQ(Inode(cache), before);
  EXPECT_FALSE(spares.TakeInto(tmp.path() / "nowhere" / "deeper" / "work-1"));
  EXPECT_FALSE(spares.TakeTreeInto(tmp.path() / "nowhere" / "deeper"));
  EXPECT_FALSE(fs::exists(tmp.path() / "nowhere"));
  EXPECT_EQ(spares.size(), ready);  // every spare went back
  EXPECT_EQ(spares.trees(), 1u);
}

TEST(SpareDirectories, AMissingParentIsTakenFromASpareTooButNoMoreThanOne) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs");
  spares.Recycle(MakeFinishedBuildOfLooseDirectories(tmp.path(), "1"));
  spares.Recycle(MakeFinishedBuildOfLooseDirectories(tmp.path(), "2"));
  ASSERT_EQ(spares.size(), 6u);
  fs::path build = tmp.path() / "builds" / "3";
  ASSERT_TRUE(spares.TakeInto(build));
  ASSERT_TRUE(spares.TakeInto(build / "volumes" / "1"));  // volumes/ first, then volumes/1
  EXPECT_TRUE(fs::is_directory(build / "volumes" / "1"));
  EXPECT_EQ(spares.size(), 3u);
  EXPECT_FALSE(spares.TakeInto(build / "put" / "a" / "b"));  // two missing: the caller makes them
  EXPECT_FALSE(fs::exists(build / "put"));
  EXPECT_EQ(spares.size(), 3u);
}

// One finished build recycled into at most one spare: its directory, kept whole.
void KeepOneSpare(const fs::path& root, SpareDirectories& spares) {
  spares.Recycle(MakeFinishedBuild(root, "1"));
  ASSERT_EQ(spares.trees(), 1u);
  ASSERT_EQ(spares.size(), 0u);
}

TEST(SpareDirectories, ASpareRemovedBehindItsBackIsForgottenNotOfferedAgain) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs", /*max_spares=*/1);
  ASSERT_NO_FATAL_FAILURE(KeepOneSpare(tmp.path(), spares));
  fs::remove_all(tmp.path() / "spare-dirs");
  EXPECT_FALSE(spares.TakeTreeInto(tmp.path() / "builds" / "2"));
  EXPECT_EQ(spares.trees(), 0u);
}

// Only without cgroups can a process of a finished build outlive it and write where it worked.
TEST(SpareDirectories, ASpareWrittenIntoAfterItWasKeptIsRemovedNotGivenToTheNextBuild) {
  // Into the build's directory, or into a task's work dir or a volume in it; found by the stamps,
  // and by the listing where timestamps are coarse.
  for (bool listed : {false, true}) {
    for (const char* where : {"", "work-1", "volumes/1", "volumes"}) {
      SCOPED_TRACE(listed ? "listed" : "stamps");
      TempDir tmp;
      SpareDirectories spares(tmp.path() / "spare-dirs", /*max_spares=*/1, listed);
      ASSERT_NO_FATAL_FAILURE(KeepOneSpare(tmp.path(), spares));
      for (const auto& spare : fs::directory_iterator(tmp.path() / "spare-dirs")) {
        WriteFile(spare.path() / where / "late.txt", "written after the build ended\n");
      }
      EXPECT_FALSE(spares.TakeTreeInto(tmp.path() / "builds" / "2")) << where;
      EXPECT_FALSE(fs::exists(tmp.path() / "builds" / "2")) << where;
      EXPECT_EQ(spares.trees(), 0u) << where;
      EXPECT_TRUE(fs::is_empty(tmp.path() / "spare-dirs")) << where;
    }
  }
}

// A tree's directories are not listed again when it is taken: any change since it was kept moves
// a directory's change time, a chmod as much as a file made in it.
// Whether `dir`'s change time moves with a chmod right after a stat (fine-grained timestamps):
// without, trees are listed when taken, which finds a file made but not a chmod.
bool FineGrainedChangeTimes(const fs::path& dir) {
  struct stat before {
  }, after{};
  return ::lstat(dir.c_str(), &before) == 0 && ::chmod(dir.c_str(), before.st_mode & 07777) == 0 &&
         ::lstat(dir.c_str(), &after) == 0 &&
         (before.st_ctim.tv_sec != after.st_ctim.tv_sec ||
          before.st_ctim.tv_nsec != after.st_ctim.tv_nsec);
}

TEST(SpareDirectories, ASpareChmodedAfterItWasKeptIsNotGivenToTheNextBuild) {
  TempDir probe;
  if (!FineGrainedChangeTimes(probe.path())) GTEST_SKIP() << "needs fine-grained timestamps";
  for (const char* where : {"", "work-1", "volumes/1"}) {
    TempDir tmp;
    SpareDirectories spares(tmp.path() / "spare-dirs", /*max_spares=*/1);
    ASSERT_NO_FATAL_FAILURE(KeepOneSpare(tmp.path(), spares));
    for (const auto& spare : fs::directory_iterator(tmp.path() / "spare-dirs")) {
      fs::permissions(spare.path() / where, fs::perms::others_write, fs::perm_options::add);
    }
    EXPECT_FALSE(spares.TakeTreeInto(tmp.path() / "builds" / "2")) << where;
    EXPECT_FALSE(fs::exists(tmp.path() / "builds" / "2")) << where;
    EXPECT_TRUE(fs::is_empty(tmp.path() / "spare-dirs")) << where;
  }
}

TEST(SpareDirectories, ASpareWhoseDirectoryWasReplacedOrRemovedIsNotGivenToTheNextBuild) {
  for (const char* change :
       {"replaced by a file", "removed", "listed: replaced", "listed: removed"}) {
    TempDir tmp;
    const bool listed = change[0] == 'l';
    SpareDirectories spares(tmp.path() / "spare-dirs", /*max_spares=*/1, listed);
    ASSERT_NO_FATAL_FAILURE(KeepOneSpare(tmp.path(), spares));
    for (const auto& spare : fs::directory_iterator(tmp.path() / "spare-dirs")) {
      fs::remove(spare.path() / "work-1");
      if (std::string(change).find("replaced") != std::string::npos) {
        WriteFile(spare.path() / "work-1", "a file\n");
      }
    }
    EXPECT_FALSE(spares.TakeTreeInto(tmp.path() / "builds" / "2")) << change;
    EXPECT_FALSE(fs::exists(tmp.path() / "builds" / "2")) << change;
    EXPECT_TRUE(fs::is_empty(tmp.path() / "spare-dirs")) << change;
  }
}

TEST(SpareDirectories, ADirectoryATaskChangedIsRemovedInsteadOfKept) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs");
  fs::path build = tmp.path() / "builds" / "1";
  fs::create_directories(build / "work-1");  // chmod'ed by its task
  fs::permissions(build / "work-1", fs::perms::owner_all, fs::perm_options::replace);
  fs::create_directories(build / "work-2");  // given a user xattr by its task
  const bool xattrs = ::setxattr((build / "work-2").c_str(), "user.left", "behind", 6, 0) == 0;
  fs::create_directories(build / "work-3");  // grown past a block by its task's files
  for (int i = 0; i < 400; ++i) {
    WriteFile(build / "work-3" / ("a-rather-long-file-name-to-fill-blocks-" + std::to_string(i)),
              "");
  }
  fs::path outside = tmp.path() / "outside";  // a link a task left must not be followed
  WriteFile(outside / "precious", "keep me\n");
  fs::create_directory_symlink(outside, build / "work-4");
  spares.Recycle(build);
  EXPECT_FALSE(fs::exists(build));
  EXPECT_TRUE(fs::exists(outside / "precious"));
  // Only the build's own directory qualifies (and work-3 where its filesystem keeps one block).
  EXPECT_GE(spares.size() + spares.trees(), 1u);
  EXPECT_LE(spares.size() + spares.trees(), xattrs ? 2u : 3u);
  for (size_t i = 0, n = spares.size() + spares.trees(); i < n; ++i) {
    fs::path taken = tmp.path() / ("taken-" + std::to_string(i));
    ASSERT_TRUE(spares.TakeTreeInto(taken));
    EXPECT_EQ(fs::status(taken).permissions(), fs::status(tmp.path() / "spare-dirs").permissions());
    EXPECT_LE(::listxattr(taken.c_str(), nullptr, 0), 0);
  }
}

// Emptying reads each directory once; one whose entries could not all be removed (here a file
// made immutable) is read again, found not empty and not kept, and neither are those above it.
TEST(SpareDirectories, ADirectoryWhoseEntriesCouldNotAllBeRemovedIsNotKept) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs");
  fs::path build = MakeFinishedBuild(tmp.path(), "1");
  fs::path stuck = build / "volumes" / "1" / "version";
  int fd = ::open(stuck.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  int flags = 0;
  bool immutable = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
                   (flags |= FS_IMMUTABLE_FL, ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0);
  if (!immutable) {
    ::close(fd);
    GTEST_SKIP() << "needs a filesystem with immutable files, and root";
  }
  spares.Recycle(build);
  EXPECT_TRUE(fs::exists(stuck));
  EXPECT_EQ(spares.size(), 1u) << "only work-1, which was emptied";
  flags &= ~FS_IMMUTABLE_FL;
  EXPECT_EQ(::ioctl(fd, FS_IOC_SETFLAGS, &flags), 0);
  ::close(fd);
  ASSERT_TRUE(spares.TakeInto(tmp.path() / "taken"));
  EXPECT_TRUE(fs::is_empty(tmp.path() / "taken"));
}

TEST(SpareDirectories, KeepsAtMostItsLimitAndRemovesTheRest) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs", /*max_spares=*/2);
  spares.Recycle(MakeFinishedBuild(tmp.path(), "1"));
  spares.Recycle(MakeFinishedBuild(tmp.path(), "2"));
  EXPECT_EQ(spares.trees(), 2u);
  EXPECT_FALSE(fs::exists(tmp.path() / "builds" / "1"));
  EXPECT_FALSE(fs::exists(tmp.path() / "builds" / "2"));
  size_t on_disk = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path() / "spare-dirs")) {
    ++on_disk;
  }
  EXPECT_EQ(on_disk, 2u);
}

TEST(SpareDirectories, SparesAnEarlierProcessLeftAreTakenOverAndAnythingElseThereIsRemoved) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "spare-dirs" / "7");
  WriteFile(tmp.path() / "spare-dirs" / "8" / "not-empty", "x");
  WriteFile(tmp.path() / "spare-dirs" / "stray-file", "x");
  SpareDirectories spares(tmp.path() / "spare-dirs");
  spares.Recycle(MakeFinishedBuild(tmp.path(), "1"));
  EXPECT_EQ(spares.size(), 1u);   // 7
  EXPECT_EQ(spares.trees(), 1u);  // and the build's directory
  EXPECT_FALSE(fs::exists(tmp.path() / "spare-dirs" / "8"));
  EXPECT_FALSE(fs::exists(tmp.path() / "spare-dirs" / "stray-file"));
  EXPECT_TRUE(fs::exists(tmp.path() / "spare-dirs" / "7"));
}

TEST(SpareDirectories, WithoutADirectoryNothingIsKeptAndTheTreeIsRemoved) {
  TempDir tmp;
  SpareDirectories spares("");
  fs::path finished = MakeFinishedBuild(tmp.path(), "1");
  spares.Recycle(finished);
  EXPECT_FALSE(fs::exists(finished));
  EXPECT_EQ(spares.size(), 0u);
  EXPECT_FALSE(spares.TakeInto(tmp.path() / "2"));
}

TEST(SpareDirectories, AnExecutorTakesItsBuildsDirectoryAndItsTasksWorkDirFromTheSpares) {
  TempDir tmp;
  SpareDirectories spares(tmp.path() / "spare-dirs");
  fs::path finished = MakeFinishedBuild(tmp.path(), "1");
  std::vector<ino_t> kept = {Inode(finished), Inode(finished / "work-1")};
  spares.Recycle(finished);
  ASSERT_EQ(spares.trees(), 1u);

  baton::testing::ScriptedWorker worker;
  BuildExecutorOptions options;
  options.spare_dirs = &spares;
  testing::BuildRun run(testing::PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: t
    config: {platform: linux, run: {path: 'true'}}
)Y"),
                        worker, options);
  EXPECT_EQ(run.Go(), BuildStatus::kSucceeded);
  ASSERT_EQ(worker.task_runs().size(), 1u);
  EXPECT_EQ(spares.trees(), 0u);  // taken whole: no mkdir for either directory, one rename
  EXPECT_EQ(Inode(run.build_root()), kept[0]);
  EXPECT_EQ(worker.task_runs()[0].work_dir, (fs::path(run.build_root()) / "work-1").string());
  EXPECT_EQ(Inode(worker.task_runs()[0].work_dir), kept[1]);
  EXPECT_TRUE(fs::is_directory(worker.task_runs()[0].work_dir));
  EXPECT_TRUE(fs::is_empty(worker.task_runs()[0].work_dir));
}

}  // namespace
}  // namespace baton::runner
