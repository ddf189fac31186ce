// ResourceCaches on real directories: what is found, what is kept, what a new process finds, and
// how a fetch is copied.
#include "baton/runner/resource_caches.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fakes/test_env.h"

namespace baton::runner {
namespace {

namespace fs = std::filesystem;
using baton::testing::ReadFile;
using baton::testing::TempDir;
using baton::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::Not;

ResourceCacheKey Key(const std::string& version, const Json& params = Json::object()) {
  return MakeResourceCacheKey("git", Json{{"uri", "https://example.com/app.git"}}, params,
                              Json{{"ref", version}});
}

// Fetches `key` into a new entry whose one file says `text`.
std::shared_ptr<const ResourceCaches::Entry> Fetch(ResourceCaches& caches,
                                                   const ResourceCacheKey& key,
                                                   const std::string& text) {
  auto dir = caches.NewDir();
  EXPECT_TRUE(dir.ok()) << dir.status().ToString();
  WriteFile(*dir / "files" / "README", text);
  auto entry = caches.Add(key, *dir, Json::parse(key.version), {{"commit", text}});
  EXPECT_TRUE(entry.ok()) << entry.status().ToString();
  return entry.ok() ? *entry : nullptr;
}

// Waits (up to 5 s) until `path` is gone: removals happen on the remover's thread.
bool EventuallyGone(const fs::path& path) {
  for (int i = 0; i < 500 && fs::exists(path); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return !fs::exists(path);
}

TEST(ResourceCaches, AFetchIsFoundByItsKeyOnlyWithItsVersionAndMetadata) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  EXPECT_EQ(caches.Find(Key("a")), nullptr);
  Fetch(caches, Key("a"), "at a");
  auto found = caches.Find(Key("a"));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->version, Json({{"ref", "a"}}));
  ASSERT_EQ(found->metadata.size(), 1u);
  EXPECT_EQ(found->metadata[0].value, "at a");
  EXPECT_EQ(ReadFile(found->files / "README"), "at a");
  // Another version, other params, another source or another type: another fetch.
  EXPECT_EQ(caches.Find(Key("b")), nullptr);
  EXPECT_EQ(caches.Find(Key("a", Json{{"depth", 1}})), nullptr);
  EXPECT_EQ(caches.Find(MakeResourceCacheKey("git", Json{{"uri", "https://example.com/b.git"}},
                                             Json::object(), Json{{"ref", "a"}})),
            nullptr);
  EXPECT_EQ(caches.Find(MakeResourceCacheKey("mock", Json{{"uri", "https://example.com/app.git"}},
                                             Json::object(), Json{{"ref", "a"}})),
            nullptr);
}

TEST(ResourceCaches, KeepsTheLatestVersionsOfAResourceAndRemovesAnOlderOneOnceNoBuildHoldsIt) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches", {/*versions_per_config=*/2, /*max_entries=*/64});
  auto held = Fetch(caches, Key("v1"), "one");
  Fetch(caches, Key("other", Json{{"depth", 1}}), "other params");  // another config
  auto v2 = Fetch(caches, Key("v2"), "two");
  fs::path v2_dir = v2->dir;
  v2.reset();
  Fetch(caches, Key("v3"), "three");
  EXPECT_EQ(caches.Find(Key("v1")), nullptr);
  EXPECT_NE(caches.Find(Key("v2")), nullptr);
  EXPECT_NE(caches.Find(Key("v3")), nullptr);
  EXPECT_NE(caches.Find(Key("other", Json{{"depth", 1}})), nullptr);
  EXPECT_EQ(caches.size(), 3u);
  // A build still holds v1: its files stay until it lets go.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ReadFile(held->files / "README"), "one");
  fs::path held_dir = held->dir;
  held.reset();
  EXPECT_TRUE(EventuallyGone(held_dir));
  // Used last: v2 is kept when v4 comes, v3 goes (nothing holds it).
  fs::path v3_dir = caches.Find(Key("v3"))->dir;
  ASSERT_NE(caches.Find(Key("v2")), nullptr);
  Fetch(caches, Key("v4"), "four");
  EXPECT_NE(caches.Find(Key("v2")), nullptr);
  EXPECT_EQ(caches.Find(Key("v3")), nullptr);
  EXPECT_TRUE(EventuallyGone(v3_dir));
  EXPECT_TRUE(fs::exists(v2_dir));
}

TEST(ResourceCaches, KeepsAtMostMaxEntriesInAll) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches", {/*versions_per_config=*/2, /*max_entries=*/3});
  for (int i = 0; i < 5; ++i) {
    Fetch(caches, MakeResourceCacheKey("mock", Json{{"n", i}}, Json::object(), Json{{"v", "1"}}),
          "n" + std::to_string(i));
  }
  EXPECT_EQ(caches.size(), 3u);
  EXPECT_EQ(
      caches.Find(MakeResourceCacheKey("mock", Json{{"n", 0}}, Json::object(), Json{{"v", "1"}})),
      nullptr);
  EXPECT_NE(
      caches.Find(MakeResourceCacheKey("mock", Json{{"n", 4}}, Json::object(), Json{{"v", "1"}})),
      nullptr);
}

TEST(ResourceCaches, ANewOneFindsTheFetchesAnEarlierOneLeftAndRemovesUnfinishedOnes) {
  TempDir tmp;
  fs::path unfinished;
  fs::path kept_dir;
  {
    ResourceCaches caches(tmp.path() / "caches");
    kept_dir = Fetch(caches, Key("a"), "at a")->dir;
    auto dir = caches.NewDir();  // a fetch the process never finished
    ASSERT_TRUE(dir.ok());
    unfinished = *dir;
    WriteFile(unfinished / "files" / "half", "x");
  }
  WriteFile(tmp.path() / "caches" / "stray", "not an entry");
  ResourceCaches again(tmp.path() / "caches");
  auto found = again.Find(Key("a"));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->dir, kept_dir);
  EXPECT_EQ(ReadFile(found->files / "README"), "at a");
  EXPECT_EQ(again.FindDir(kept_dir), found);
  EXPECT_TRUE(EventuallyGone(unfinished));
  EXPECT_TRUE(EventuallyGone(tmp.path() / "caches" / "stray"));
  // New entries do not take the names of the ones found.
  auto dir = again.NewDir();
  ASSERT_TRUE(dir.ok());
  EXPECT_NE(*dir, kept_dir);
}

TEST(ResourceCaches, WritesNoSourceOrParamsToDiskAndKeepsItsDirectoryToItsOwner) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  auto key = MakeResourceCacheKey("git", Json{{"private_key", "SECRET-KEY-TEXT"}},
                                  Json{{"token", "SECRET-PARAM"}}, Json{{"ref", "a"}});
  auto entry = Fetch(caches, key, "x");
  std::string json = ReadFile(entry->dir / "entry.json");
  EXPECT_THAT(json, Not(HasSubstr("SECRET")));
  EXPECT_THAT(json, HasSubstr("\"ref\":\"a\""));
  struct stat st;
  ASSERT_EQ(::stat((tmp.path() / "caches").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(ResourceCaches, CopyFilesKeepsModesTimesAndLinksAndTheEntryUnchanged) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  auto dir = caches.NewDir();
  ASSERT_TRUE(dir.ok());
  const fs::path files = *dir / "files";
  WriteFile(files / "bin" / "run.sh", "#!/bin/sh\n");
  fs::permissions(files / "bin" / "run.sh", fs::perms::owner_all | fs::perms::group_read);
  fs::create_symlink("bin/run.sh", files / "link");
  fs::create_directories(files / "empty");
  auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(24 * 365);
  fs::last_write_time(files / "bin" / "run.sh", old_time);
  fs::last_write_time(files / "bin", old_time);
  auto entry = caches.Add(Key("a"), *dir, Json{{"ref", "a"}}, {});
  ASSERT_TRUE(entry.ok());

  fs::path to = tmp.path() / "volume";
  ASSERT_TRUE(ResourceCaches::CopyFiles(**entry, to).ok());
  EXPECT_EQ(ReadFile(to / "bin" / "run.sh"), "#!/bin/sh\n");
  EXPECT_EQ(fs::status(to / "bin" / "run.sh").permissions(),
            fs::perms::owner_all | fs::perms::group_read);
  EXPECT_EQ(fs::last_write_time(to / "bin" / "run.sh"), old_time);
  EXPECT_EQ(fs::last_write_time(to / "bin"), old_time);
  EXPECT_TRUE(fs::is_symlink(to / "link"));
  EXPECT_EQ(fs::read_symlink(to / "link"), "bin/run.sh");
  EXPECT_TRUE(fs::is_directory(to / "empty"));
  // The copy is the step's own: writing it leaves the cached fetch as it was.
  WriteFile(to / "bin" / "run.sh", "changed");
  EXPECT_EQ(ReadFile((*entry)->files / "bin" / "run.sh"), "#!/bin/sh\n");
}

TEST(ResourceCaches, CopyFilesDropsSetIdBitsAndRefusesAnythingButFilesDirectoriesAndLinks) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  auto entry = Fetch(caches, Key("a"), "x");
  ASSERT_NE(entry, nullptr);
  const fs::path files = entry->files;
  WriteFile(files / "tool", "x");
  ASSERT_EQ(::chmod((files / "tool").c_str(), 06755), 0);
  ASSERT_TRUE(ResourceCaches::CopyFiles(*entry, tmp.path() / "one").ok());
  struct stat st;
  ASSERT_EQ(::stat((tmp.path() / "one" / "tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);

  ASSERT_EQ(::mkfifo((files / "pipe").c_str(), 0600), 0);
  Status s = ResourceCaches::CopyFiles(*entry, tmp.path() / "two");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("only files, directories and links"));
}

TEST(ResourceCaches, CopyingAFetchThatIsGoneSaysSo) {
  TempDir tmp;
  ResourceCaches::Entry gone{tmp.path() / "nope", tmp.path() / "nope" / "files", Json(), {}};
  Status s = ResourceCaches::CopyFiles(gone, tmp.path() / "volume");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("is gone"));
}

}  // namespace
}  // namespace baton::runner
