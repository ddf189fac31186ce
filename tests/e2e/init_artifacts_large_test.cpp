// `baton download-artifact` of a file larger than one answer of the server (8 MiB): the server
// refuses to send it in one piece (413, saying to ask with Range) and serves it in parts (206
// with Content-Range, 416 past its end); the client fetches it part by part straight to disk and
// checks it against the listing's SHA-256. The old client, which asked for each file whole and
// held it in memory, fails here.
#include <gtest/gtest.h>

#include "baton/common/sha256.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kBigBytes = 20 << 20;  // 20 MiB: more than two answers' worth

constexpr const char* kArtifactsLargePipeline = R"yaml(resources:
- name: big
  type: artifact
  source: {name: big}
jobs:
- name: make
  plan:
  - task: make
    config:
      platform: linux
      outputs: [{name: out}]
      run:
        path: sh
        args: [-c, "head -c 20971520 /dev/urandom > out/big.bin && echo small > out/small.txt"]
  - put: big
    params: {from: out}
)yaml";

class LargeArtifact : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started()) << server_.log();
    WriteFile(files_ / "p.yml", kArtifactsLargePipeline);
    ASSERT_EQ(
        server_.Cli({"set-pipeline", "-n", "-p", "p", "-c", (files_ / "p.yml").string()}).exit_code,
        0);
    ASSERT_EQ(server_.Cli({"unpause-pipeline", "-p", "p"}).exit_code, 0);
    CliResult run = server_.Cli({"trigger-job", "-j", "p/make", "-w"});
    ASSERT_EQ(run.exit_code, 0) << run.All();
    json versions = server_.Get("/api/v1/teams/main/pipelines/p/resources/big/versions");
    ASSERT_EQ(versions.size(), 1u) << versions.dump();
    artifact_ = "/api/v1/teams/main/pipelines/p/resources/big/versions/" +
                std::to_string(versions[0].value("id", int64_t{0})) + "/artifact";
  }
  // curl of the file big.bin with `extra` arguments; the answer's head and body.
  ProcessResult Curl(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"curl", "-sS",
                                     "-D",   (files_ / "head").string(),
                                     "-o",   (files_ / "body").string(),
                                     "-H",   "Authorization: Bearer " + server_.token()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(server_.url() + artifact_ + "/file?path=big.bin");
    return RunProcess(argv);
  }
  ServerProcess server_;
  TempDir files_;
  std::string artifact_;
};

TEST_F(LargeArtifact, DownloadsAFileLargerThanOneAnswerInPartsStraightToDisk) {
  json listing = server_.Get(artifact_);
  std::string sha;
  for (const auto& e : listing["entries"]) {
    if (e["path"] == "big.bin") sha = e["sha256"];
  }
  ASSERT_EQ(sha.size(), 64u) << listing.dump();
  fs::path out = files_ / "back";
  CliResult get = server_.Cli({"download-artifact", "-r", "p/big", "-o", out.string()});
  ASSERT_EQ(get.exit_code, 0) << get.All();
  ASSERT_EQ(fs::file_size(out / "big.bin"), static_cast<uintmax_t>(kBigBytes));
  EXPECT_EQ(Sha256Hex(ReadFile(out / "big.bin")), sha);
  EXPECT_EQ(ReadFile(out / "small.txt"), "small\n");
  EXPECT_NE(get.out.find("2 files, 20971526 bytes"), std::string::npos) << get.out;
}

TEST_F(LargeArtifact, TheServerAnswersWithPartsAndRefusesTheWholeFile) {
  ASSERT_EQ(Curl({}).exit_code, 0);
  EXPECT_NE(ReadFile(files_ / "head").find("HTTP/1.1 413"), std::string::npos)
      << ReadFile(files_ / "head");
  EXPECT_NE(ReadFile(files_ / "body").find("ask for it in parts with a `Range: bytes=FIRST-LAST`"),
            std::string::npos)
      << ReadFile(files_ / "body");

  ASSERT_EQ(Curl({"-H", "Range: bytes=10-19"}).exit_code, 0);
  std::string head = ReadFile(files_ / "head");
  EXPECT_NE(head.find("HTTP/1.1 206"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Range: bytes 10-19/20971520"), std::string::npos) << head;
  EXPECT_EQ(ReadFile(files_ / "body").size(), 10u);

  // An open range stops at the answer limit; the Content-Range says where.
  ASSERT_EQ(Curl({"-H", "Range: bytes=4-"}).exit_code, 0);
  EXPECT_NE(ReadFile(files_ / "head").find("Content-Range: bytes 4-8388611/20971520"),
            std::string::npos)
      << ReadFile(files_ / "head");
  EXPECT_EQ(ReadFile(files_ / "body").size(), size_t{8} << 20);

  ASSERT_EQ(Curl({"-H", "Range: bytes=30000000-"}).exit_code, 0);
  EXPECT_NE(ReadFile(files_ / "head").find("HTTP/1.1 416"), std::string::npos);
  EXPECT_NE(ReadFile(files_ / "head").find("Content-Range: bytes */20971520"), std::string::npos)
      << ReadFile(files_ / "head");
  ASSERT_EQ(Curl({"-H", "Range: lines=1-2"}).exit_code, 0);
  EXPECT_NE(ReadFile(files_ / "head").find("HTTP/1.1 416"), std::string::npos);
  EXPECT_NE(ReadFile(files_ / "body").find("is not one range of bytes"), std::string::npos)
      << ReadFile(files_ / "body");
}

}  // namespace
}  // namespace baton::testing
