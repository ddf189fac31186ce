// kill -9 in the middle of writing: everything committed survives, the file is sound, and the
// build that was running is found as an orphan on the next start.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "baton/runner/sqlite_store.h"
#include "fakes/test_env.h"

namespace baton::runner {
namespace {

using testing::TempDir;

constexpr int kLinesPerBuild = 3000;

// Runs in the forked child: finishes builds (reporting each id on `out` once committed), then
// starts one more and logs forever. Never returns.
[[noreturn]] void WriteUntilKilled(const std::filesystem::path& db, int out) {
  auto store = SqliteStore::Open(db, RealClock());
  if (!store.ok()) _exit(2);
  for (int b = 0;; ++b) {
    auto build = (*store)->CreateOneOffBuild("main", 0, Json{{"n", b}});
    if (!build.ok() || !(*store)->StartBuild(build->id).ok()) _exit(3);
    const bool last = b == 3;
    for (int i = 0; !last ? i < kLinesPerBuild : true; ++i) {
      BuildEvent line{0,     {},       "task",
                      "log", "stdout", "build " + std::to_string(b) + " line " + std::to_string(i)};
      if (!(*store)->AppendEvents(build->id, {line}).ok()) _exit(4);
      // Tell the parent the running build is well under way.
      if (last && i == 20000 && write(out, "R", 1) != 1) _exit(5);
    }
    if (!(*store)->FinishBuild(build->id, BuildStatus::kSucceeded).ok()) _exit(6);
    char id[32];
    int n = std::snprintf(id, sizeof id, "%lld\n", static_cast<long long>(build->id));
    if (write(out, id, n) != n) _exit(7);
  }
}

TEST(StoreCrash, KillNineMidStreamLosesNothingCommittedAndLeavesAnOrphan) {
  TempDir dir;
  const auto db = dir / "baton.db";
  { ASSERT_TRUE(SqliteStore::Open(db, RealClock()).ok()); }  // create the schema first
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    WriteUntilKilled(db, fds[1]);
  }
  close(fds[1]);
  // Read "<id>\n" x3 then "R": the child is mid-stream in its fourth build.
  std::set<Id> finished;
  std::string buffer;
  char c;
  while (read(fds[0], &c, 1) == 1 && c != 'R') {
    if (c == '\n') {
      finished.insert(std::stoll(buffer));
      buffer.clear();
    } else {
      buffer += c;
    }
  }
  ASSERT_EQ(c, 'R') << "the child exited early";
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  close(fds[0]);

  auto store = SqliteStore::Open(db, RealClock());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
  ASSERT_EQ(finished.size(), 3u);
  for (Id id : finished) {
    auto build = (*store)->GetBuild(id);
    ASSERT_TRUE(build.ok());
    EXPECT_EQ(build->status, BuildStatus::kSucceeded);
    auto events = (*store)->ReadEvents(id, 0, kLinesPerBuild + 10);
    ASSERT_EQ(events->size(), static_cast<size_t>(kLinesPerBuild));
    EXPECT_EQ(events->back().seq, kLinesPerBuild);
  }
  auto orphans = (*store)->MarkOrphanedBuildsErrored("baton was killed");
  ASSERT_TRUE(orphans.ok());
  ASSERT_EQ(orphans->size(), 1u);
  EXPECT_EQ(finished.count((*orphans)[0].id), 0u);
  // Its log is whatever was committed: a gap-free prefix, then the error event.
  auto log = (*store)->ReadEvents((*orphans)[0].id, 0, 1000000);
  ASSERT_FALSE(log->empty());
  for (size_t i = 0; i < log->size(); ++i) ASSERT_EQ((*log)[i].seq, static_cast<int64_t>(i + 1));
  EXPECT_EQ(log->back().type, "error");
}

}  // namespace
}  // namespace baton::runner
