#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "baton/workers/artifact_store.h"
#include "baton/workers/resource_type.h"
#include "fakes/test_env.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::ReadFile;
using baton::testing::TempDir;
using baton::testing::WriteFile;

size_t CountFiles(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

class ArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenLocalArtifactStore((root_ / "store").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  TempDir root_;
  std::unique_ptr<ArtifactStore> store_;
};

TEST_F(ArtifactStoreTest, RestoreReproducesFilesModesDirectoriesAndSymlinks) {
  TempDir src, dst;
  WriteFile(src / "bin/run.sh", "#!/bin/sh\necho hi\n");
  fs::permissions(src / "bin/run.sh", fs::perms(0755));
  WriteFile(src / "data/a.txt", "alpha");
  fs::create_directories(src / "empty");
  fs::create_symlink("data/a.txt", src / "link");
  auto v = store_->Put("k", src.path().string());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->file_count, 2);
  EXPECT_EQ(v->bytes, 18 + 5);
  EXPECT_EQ(v->digest.size(), 64u);
  ASSERT_TRUE(store_->Restore(v->digest, dst.path().string()).ok());
  EXPECT_EQ(ReadFile(dst / "data/a.txt"), "alpha");
  EXPECT_EQ(fs::status(dst / "bin/run.sh").permissions() & fs::perms::all, fs::perms(0755));
  EXPECT_TRUE(fs::is_directory(dst / "empty"));
  EXPECT_EQ(fs::read_symlink(dst / "link"), "data/a.txt");
}

TEST_F(ArtifactStoreTest, SameContentHasTheSameDigestAndIsStoredOnce) {
  TempDir a, b;
  WriteFile(a / "x", "same");
  WriteFile(a / "y", "same");
  WriteFile(b / "x", "same");
  WriteFile(b / "y", "same");
  auto va = store_->Put("k", a.path().string());
  auto vb = store_->Put("k", b.path().string());
  ASSERT_TRUE(va.ok() && vb.ok());
  EXPECT_EQ(va->digest, vb->digest);
  EXPECT_EQ(CountFiles(root_ / "store/objects"), 1u);
  auto list = store_->List("k");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);  // a version is listed once
}

TEST_F(ArtifactStoreTest, AModeChangeIsANewVersion) {
  TempDir a;
  WriteFile(a / "x", "content");
  auto v1 = store_->Put("k", a.path().string());
  fs::permissions(a / "x", fs::perms(0700));
  auto v2 = store_->Put("k", a.path().string());
  ASSERT_TRUE(v1.ok() && v2.ok());
  EXPECT_NE(v1->digest, v2->digest);
}

TEST_F(ArtifactStoreTest, PruneKeepsTheNewestVersionsAndDeletesUnreferencedObjects) {
  std::vector<std::string> digests;
  for (int i = 0; i < 4; ++i) {
    TempDir d;
    WriteFile(d / "f", "version " + std::to_string(i));
    WriteFile(d / "shared", "shared by all");
    auto v = store_->Put("k", d.path().string());
    ASSERT_TRUE(v.ok());
    digests.push_back(v->digest);
  }
  EXPECT_EQ(CountFiles(root_ / "store/objects"), 5u);
  auto stats = store_->Prune("k", 2);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->versions_removed, 2);
  EXPECT_EQ(stats->manifests_removed, 2);
  EXPECT_EQ(stats->objects_removed, 2);
  EXPECT_EQ(CountFiles(root_ / "store/objects"), 3u);
  auto list = store_->List("k");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list->at(0).digest, digests[2]);
  TempDir out;
  Status gone = store_->Restore(digests[0], out.path().string());
  EXPECT_EQ(gone.code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->Restore(digests[3], out.path().string()).ok());
  EXPECT_EQ(ReadFile(out / "shared"), "shared by all");
}

TEST_F(ArtifactStoreTest, PruneKeepsObjectsAnotherResourceStillUses) {
  TempDir d;
  WriteFile(d / "f", "shared");
  ASSERT_TRUE(store_->Put("a", d.path().string()).ok());
  ASSERT_TRUE(store_->Put("b", d.path().string()).ok());
  auto stats = store_->Prune("a", 0);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->objects_removed, 0);
  EXPECT_EQ(CountFiles(root_ / "store/objects"), 1u);
}

TEST_F(ArtifactStoreTest, ConcurrentPutsAndPrunesKeepEveryListedVersionRestorable) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        TempDir d;
        WriteFile(d / "f", "thread " + std::to_string(t) + " item " + std::to_string(i));
        EXPECT_TRUE(store_->Put("k" + std::to_string(t), d.path().string()).ok());
        if (i % 3 == 0) {
          EXPECT_TRUE(store_->Prune("k" + std::to_string(t), 2).ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    auto list = store_->List("k" + std::to_string(t));
    ASSERT_TRUE(list.ok());
    for (const auto& v : *list) {
      TempDir out;
      EXPECT_TRUE(store_->Restore(v.digest, out.path().string()).ok()) << v.digest;
    }
  }
}

class ArtifactResource : public ArtifactStoreTest {
 protected:
  void SetUp() override {
    ArtifactStoreTest::SetUp();
    ctx_.artifacts = store_.get();
  }
  std::unique_ptr<ResourceType> type_ = MakeBuiltinResourceType("artifact");
  ResourceContext ctx_;
};

TEST_F(ArtifactResource, PutThenCheckThenGetPassesADirectoryBetweenJobs) {
  TempDir build;
  WriteFile(build / "binary/app", "ELF...");
  Json source = {{"name", "app"}};
  auto put = type_->Put(ctx_, source, {{"from", "binary"}}, build.path().string());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto versions = type_->Check(ctx_, source, nullptr);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ(versions->at(0), put->version);
  TempDir next_job;
  auto got = type_->Get(ctx_, source, put->version, Json::object(), next_job.path().string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(ReadFile(next_job / "app"), "ELF...");
}

TEST_F(ArtifactResource, CheckReturnsVersionsFromTheGivenOneInOrder) {
  Json source = {{"name", "app"}};
  std::vector<Json> puts;
  for (int i = 0; i < 3; ++i) {
    TempDir build;
    WriteFile(build / "out/f", std::to_string(i));
    auto put = type_->Put(ctx_, source, {{"from", "out"}}, build.path().string());
    ASSERT_TRUE(put.ok());
    puts.push_back(put->version);
  }
  auto versions = type_->Check(ctx_, source, puts[1]);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, (std::vector<Json>{puts[1], puts[2]}));
  auto other = type_->Check(ctx_, {{"name", "other"}}, nullptr);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_F(ArtifactResource, RetainPrunesOldVersionsOnPut) {
  Json source = {{"name", "app"}, {"retain", 1}};
  for (int i = 0; i < 3; ++i) {
    TempDir build;
    WriteFile(build / "out/f", std::to_string(i));
    ASSERT_TRUE(type_->Put(ctx_, source, {{"from", "out"}}, build.path().string()).ok());
  }
  auto versions = type_->Check(ctx_, source, nullptr);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 1u);
  EXPECT_EQ(CountFiles(root_ / "store/objects"), 1u);
}

TEST_F(ArtifactResource, PutOfAMissingArtifactSaysWhatToName) {
  TempDir build;
  auto put = type_->Put(ctx_, Json::object(), {{"from", "nope"}}, build.path().string());
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.status().message().find("no artifact named 'nope'"), std::string::npos);
  auto no_from = type_->Put(ctx_, Json::object(), Json::object(), build.path().string());
  ASSERT_FALSE(no_from.ok());
  EXPECT_NE(no_from.status().message().find("params.from"), std::string::npos);
}

}  // namespace
}  // namespace baton::workers
