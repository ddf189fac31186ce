// StaticAssets: the web UI's files from memory, gzip when accepted, index.html for the UI's own
// routes (deep links), 404 for missing files and for /api paths.
#include "baton/webapi/static_assets.h"

#include <gtest/gtest.h>

#include <fstream>

#include "fakes/test_env.h"

namespace baton::webapi {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

Request Get(const std::string& path, bool gzip = false) {
  Request r;
  r.method = "GET";
  r.path = r.target = path;
  if (gzip) r.headers.Set("Accept-Encoding", "gzip, deflate");
  return r;
}

class StaticAssetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write(dir_.path() / "index.html", "<!doctype html><title>Baton</title>");
    Write(dir_.path() / "assets/app-ABC.js", "console.log(1)");
    Write(dir_.path() / "assets/app-ABC.js.gz", "GZ");
    auto loaded = StaticAssets::Load(dir_.path());
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    assets_ = *loaded;
  }
  baton::testing::TempDir dir_;
  std::shared_ptr<const StaticAssets> assets_;
};

TEST_F(StaticAssetsTest, ServesIndexAtTheRootWithAContentSecurityPolicy) {
  Response r = assets_->Serve(Get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<!doctype html><title>Baton</title>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.headers.Get("Content-Security-Policy").value_or("").find("default-src 'self'"),
            std::string::npos);
  EXPECT_EQ(r.headers.Get("Cache-Control"), "no-cache");
}

TEST_F(StaticAssetsTest, AnswersTheUisOwnRoutesWithIndexSoDeepLinksSurviveAReload) {
  EXPECT_EQ(assets_->Serve(Get("/teams/main/pipelines/ci/jobs/build")).body,
            "<!doctype html><title>Baton</title>");
  EXPECT_EQ(assets_->Serve(Get("/builds/42")).status, 200);
}

TEST_F(StaticAssetsTest, SendsTheGzipTwinOnlyToClientsThatAcceptIt) {
  Response plain = assets_->Serve(Get("/assets/app-ABC.js"));
  EXPECT_EQ(plain.body, "console.log(1)");
  EXPECT_FALSE(plain.headers.Has("Content-Encoding"));
  Response gz = assets_->Serve(Get("/assets/app-ABC.js", true));
  EXPECT_EQ(gz.body, "GZ");
  EXPECT_EQ(gz.headers.Get("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.headers.Get("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(gz.content_type, "text/javascript; charset=utf-8");
}

TEST_F(StaticAssetsTest, MissingFilesAndApiPathsAre404) {
  EXPECT_EQ(assets_->Serve(Get("/assets/nope.js")).status, 404);
  Response api = assets_->Serve(Get("/api/v1/nope"));
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.content_type, "application/json");
  EXPECT_EQ(assets_->Serve(Get("/assets/app-ABC.js.gz")).status, 404) << "twins are not files";
}

TEST(StaticAssets, ADirectoryWithoutIndexSaysHowToBuildTheUi) {
  baton::testing::TempDir empty;
  auto loaded = StaticAssets::Load(empty.path());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("make build"), std::string::npos);
}

}  // namespace
}  // namespace baton::webapi
