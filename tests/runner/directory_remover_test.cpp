// DirectoryRemover: finished builds' directories are removed off the scheduler's thread.
#include "baton/runner/directory_remover.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "fakes/test_env.h"

namespace baton::runner {
namespace {

namespace fs = std::filesystem;

// A build directory's usual shape: a journal, a volume and a task's work dir.
fs::path MakeBuildTreeForRemoverTest(const fs::path& root, const std::string& name) {
  fs::path dir = root / name;
  testing::WriteFile(dir / "journal.jsonl", "{}\n");
  testing::WriteFile(dir / "volumes" / "1" / "version", "v1\n");
  fs::create_directories(dir / "work" / "2");
  return dir;
}

TEST(DirectoryRemover, EveryQueuedTreeIsGoneOnceTheRemoverIsDestroyed) {
  testing::TempDir tmp;
  std::vector<fs::path> dirs;
  {
    DirectoryRemover remover;
    for (int i = 1; i <= 20; ++i) {
      dirs.push_back(MakeBuildTreeForRemoverTest(tmp.path(), std::to_string(i)));
      remover.Remove(dirs.back());
    }
  }
  for (const auto& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
}

TEST(DirectoryRemover, RemoveReturnsBeforeTheTreeIsRemovedAndRemovesOnAnotherThread) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<std::thread::id> removed_on;
  DirectoryRemover remover([&](const fs::path&) {
    removed_on.set_value(std::this_thread::get_id());
    released.wait();  // a disk that takes its time
  });
  remover.Remove("/nonexistent/1");  // returns while the removal is still waiting
  std::future<std::thread::id> where = removed_on.get_future();
  ASSERT_EQ(where.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_NE(where.get(), std::this_thread::get_id());
  release.set_value();
}

TEST(DirectoryRemover, DrainWaitsForWhatWasQueuedBeforeIt) {
  testing::TempDir tmp;
  DirectoryRemover remover;
  fs::path first = MakeBuildTreeForRemoverTest(tmp.path(), "a");
  fs::path second = MakeBuildTreeForRemoverTest(tmp.path(), "b");
  remover.Remove(first);
  remover.Remove(second);
  remover.Drain();
  EXPECT_FALSE(fs::exists(first));
  EXPECT_FALSE(fs::exists(second));
}

TEST(DirectoryRemover, ARemoverGivenNothingStartsNoThreadAndStopsAtOnce) {
  DirectoryRemover remover;
  remover.Drain();  // nothing queued: returns at once
}

}  // namespace
}  // namespace baton::runner
