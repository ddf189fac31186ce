#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <vector>

#include "baton/workers/resource_type.h"
#include "fakes/fake_clock.h"
#include "fakes/test_env.h"

namespace baton::workers {
namespace {

using baton::testing::ReadFile;
using baton::testing::TempDir;
using baton::testing::WriteFile;

class LinesSink : public OutputSink {
 public:
  void OnLine(SystemTime, OutputStream, std::string_view line) override {
    std::lock_guard<std::mutex> lock(mu_);
    lines.emplace_back(line);
  }
  std::mutex mu_;
  std::vector<std::string> lines;
};

class MockResource : public ::testing::Test {
 protected:
  MockResource() {
    ctx_.output = &sink_;
    ctx_.clock = &clock_;
    ctx_.cache_dir = (cache_ / "mock").string();
  }
  std::unique_ptr<ResourceType> type_ = MakeBuiltinResourceType("mock");
  LinesSink sink_;
  baton::testing::FakeClock clock_;
  TempDir cache_;
  ResourceContext ctx_;
};

TEST_F(MockResource, CheckDelayWaitsOnTheContextsClock) {
  std::atomic<bool> cancelled{false};
  ctx_.cancelled = &cancelled;
  auto check = std::async(std::launch::async, [this] {
    return type_->Check(ctx_, {{"check_delay", "1h"}}, nullptr);
  });
  // By the real clock the check would wait an hour; by the context's it is over once the clock
  // passes the deadline the check took (moved again until it has: the check may start late).
  bool done = false;
  for (int i = 0; i < 6000 && !done; ++i) {
    clock_.Advance(std::chrono::hours(1));
    done = check.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready;
  }
  cancelled = true;  // lets a check that waits on the wrong clock end, so the test fails fast
  ASSERT_TRUE(done) << "check_delay did not end when the context's clock passed it";
  auto versions = check.get();
  EXPECT_TRUE(versions.ok()) << versions.status().ToString();
}

TEST_F(MockResource, CheckWithoutVersionReturnsTheDefaultInitialVersion) {
  auto versions = type_->Check(ctx_, Json::object(), nullptr);
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(*versions, std::vector<Json>{Json({{"version", "mock"}})});
}

TEST_F(MockResource, CheckHonoursInitialVersionAndNoInitialVersion) {
  auto custom = type_->Check(ctx_, {{"initial_version", "v1"}}, nullptr);
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(custom->at(0)["version"], "v1");
  auto none = type_->Check(ctx_, {{"no_initial_version", true}}, nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(MockResource, ForceVersionWinsOverEverything) {
  auto versions = type_->Check(ctx_, {{"force_version", "forced"}}, {{"version", "other"}});
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, std::vector<Json>{Json({{"version", "forced"}})});
}

TEST_F(MockResource, CheckFailureIsAnErrorCarryingTheMessage) {
  auto versions = type_->Check(ctx_, {{"check_failure", "boom"}}, nullptr);
  ASSERT_FALSE(versions.ok());
  EXPECT_NE(versions.status().message().find("intentionally failing to check: boom"),
            std::string::npos);
}

TEST_F(MockResource, CheckEchoesAnUnknownFromVersionLikeCheckResourceFrom) {
  auto versions = type_->Check(ctx_, Json::object(), {{"version", "foo"}});
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, std::vector<Json>{Json({{"version", "foo"}})});
}

TEST_F(MockResource, VersionsCreatedByPutAreReturnedByLaterChecksInOrder) {
  TempDir dir;
  ASSERT_TRUE(type_->Put(ctx_, Json::object(), {{"version", "v2"}}, dir.path().string()).ok());
  ASSERT_TRUE(type_->Put(ctx_, Json::object(), {{"version", "v3"}}, dir.path().string()).ok());
  auto latest = type_->Check(ctx_, Json::object(), nullptr);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, std::vector<Json>{Json({{"version", "v3"}})});
  auto since_initial = type_->Check(ctx_, Json::object(), {{"version", "mock"}});
  ASSERT_TRUE(since_initial.ok());
  ASSERT_EQ(since_initial->size(), 3u);
  EXPECT_EQ(since_initial->at(1)["version"], "v2");
  EXPECT_EQ(since_initial->at(2)["version"], "v3");
}

TEST_F(MockResource, PutReadsTheVersionFromParamsFileAndReturnsSourceMetadata) {
  TempDir dir;
  WriteFile(dir / "out/version.txt", "1.2.3\n");
  Json source = {{"metadata", {{{"name", "foo"}, {"value", "bar"}}}}};
  auto put = type_->Put(ctx_, source, {{"file", "out/version.txt"}}, dir.path().string());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->version, Json({{"version", "1.2.3"}}));
  ASSERT_EQ(put->metadata.size(), 1u);
  EXPECT_EQ(put->metadata[0].name, "foo");
  EXPECT_EQ(put->metadata[0].value, "bar");
}

TEST_F(MockResource, PutWithoutAVersionPushesTheEmptyVersionLikeMockResource) {
  TempDir dir;
  auto put = type_->Put(ctx_, Json::object(), Json::object(), dir.path().string());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->version, Json({{"version", ""}}));
  {
    std::lock_guard<std::mutex> lock(sink_.mu_);
    EXPECT_NE(std::find(sink_.lines.begin(), sink_.lines.end(), "pushing version: "),
              sink_.lines.end());
  }
  TempDir fetched;
  auto get =
      type_->Get(ctx_, Json::object(), put->version, Json::object(), fetched.path().string());
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(ReadFile(fetched / "version"), "\n");
}

TEST_F(MockResource, PutWithAMissingParamsFileSaysWhichFile) {
  TempDir dir;
  auto put = type_->Put(ctx_, Json::object(), {{"file", "out/none"}}, dir.path().string());
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.status().message().find("out/none"), std::string::npos);
}

TEST_F(MockResource, GetWritesVersionPrivilegedAndMergedCreateFiles) {
  TempDir dir;
  Json source = {{"create_files", {{"a.txt", "from source"}, {"sub/b.yml", "b: 1\n"}}},
                 {"log", "hello from mock"}};
  Json params = {{"create_files_via_params", {{"a.txt", "from params"}, {"c.json", {{"k", 1}}}}}};
  auto got = type_->Get(ctx_, source, {{"version", "v7"}}, params, dir.path().string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(ReadFile(dir / "version"), "v7\n");
  EXPECT_EQ(ReadFile(dir / "privileged"), "false\n");
  EXPECT_EQ(ReadFile(dir / "a.txt"), "from params");
  EXPECT_EQ(ReadFile(dir / "sub/b.yml"), "b: 1\n");
  EXPECT_EQ(ReadFile(dir / "c.json"), "{\"k\":1}");
  EXPECT_EQ(got->version, Json({{"version", "v7"}}));
  std::lock_guard<std::mutex> lock(sink_.mu_);
  EXPECT_NE(std::find(sink_.lines.begin(), sink_.lines.end(), "hello from mock"),
            sink_.lines.end());
}

TEST_F(MockResource, GetWithMirrorSelfWritesImageMetadata) {
  TempDir dir;
  auto got = type_->Get(ctx_, {{"mirror_self", true}}, {{"version", "img"}}, Json::object(),
                        dir.path().string());
  ASSERT_TRUE(got.ok());
  Json meta = Json::parse(ReadFile(dir / "metadata.json"));
  EXPECT_EQ(meta["env"][0], "MIRRORED_VERSION=img");
}

TEST_F(MockResource, CreateFilesCannotEscapeTheDirectory) {
  TempDir dir;
  auto got = type_->Get(ctx_, {{"create_files", {{"../evil", "x"}}}}, {{"version", "v"}},
                        Json::object(), dir.path().string());
  EXPECT_FALSE(got.ok());
}

TEST(BuiltinResourceTypes, NamesEveryBuiltinAndMakesEachOne) {
  std::vector<std::string> names = BuiltinResourceTypeNames();
  for (const char* expected : {"git", "time", "mock", "artifact"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  for (const auto& name : names) EXPECT_NE(MakeBuiltinResourceType(name), nullptr) << name;
  EXPECT_EQ(MakeBuiltinResourceType("no-such-type"), nullptr);
}

}  // namespace
}  // namespace baton::workers
