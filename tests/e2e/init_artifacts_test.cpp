// Getting things back from a real `baton quickstart`: `baton artifacts` lists an artifact
// resource's stored versions and `baton download-artifact` fetches one over the API (files,
// modes, directories and symlinks), by default the newest, or by id or digest prefix; the errors
// say what to do. Also `quickstart --help` says the default port.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "fakes/server_process.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kArtifactsPipeline = R"yaml(resources:
- name: reports
  type: artifact
  source: {name: reports}
- name: clock
  type: time
  source: {interval: 1h}
jobs:
- name: tick
  plan:
  - get: clock
- name: scan
  plan:
  - task: scan
    config:
      platform: linux
      outputs: [{name: out}]
      run:
        path: sh
        args:
        - -c
        - |
          mkdir -p out/sarif out/bin
          echo "{\"run\": $BUILD_NAME}" > out/sarif/cppcheck.sarif
          printf '#!/bin/sh\necho hi\n' > out/bin/tool.sh && chmod 755 out/bin/tool.sh
          ln -s sarif/cppcheck.sarif out/latest.sarif
  - put: reports
    params: {from: out}
)yaml";

class ArtifactsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started()) << server_.log();
    WriteFile(files_ / "p.yml", kArtifactsPipeline);
    ASSERT_EQ(
        server_.Cli({"set-pipeline", "-n", "-p", "p", "-c", (files_ / "p.yml").string()}).exit_code,
        0);
    ASSERT_EQ(server_.Cli({"unpause-pipeline", "-p", "p"}).exit_code, 0);
    for (int i = 1; i <= 2; ++i) {
      CliResult run = server_.Cli({"trigger-job", "-j", "p/scan", "-w"});
      ASSERT_EQ(run.exit_code, 0) << run.All();
    }
  }
  ServerProcess server_;
  TempDir files_;
};

TEST_F(ArtifactsE2E, ListsTheStoredVersionsNewestFirst) {
  // A check finds both versions again, without metadata: the puts' metadata must stay.
  json check = server_.CheckResource("p", "reports");
  ASSERT_EQ(check.value("status", ""), "succeeded") << check.dump();
  CliResult list = server_.Cli({"artifacts", "-r", "p/reports"});
  ASSERT_EQ(list.exit_code, 0) << list.All();
  json versions = server_.Get("/api/v1/teams/main/pipelines/p/resources/reports/versions");
  ASSERT_EQ(versions.size(), 2u) << versions.dump();
  for (const auto& v : versions) {
    EXPECT_EQ(v["metadata"], json::parse(R"([{"name":"files","value":"2"},)"
                                         R"({"name":"bytes","value":"29"}])"))
        << v.dump();
  }
  std::string newest = versions[0]["version"]["digest"].get<std::string>().substr(0, 12);
  std::string older = versions[1]["version"]["digest"].get<std::string>().substr(0, 12);
  EXPECT_NE(list.out.find(newest), std::string::npos) << list.out;
  EXPECT_LT(list.out.find(newest), list.out.find(older)) << list.out;
  EXPECT_NE(list.out.find(" 2 "), std::string::npos) << "two files each: " << list.out;
  EXPECT_NE(list.out.find(" 29 "), std::string::npos) << "29 bytes each: " << list.out;
}

TEST_F(ArtifactsE2E, DownloadsTheNewestVersionWithModesDirectoriesAndSymlinks) {
  fs::path out = files_ / "back";
  CliResult get = server_.Cli({"download-artifact", "-r", "p/reports", "-o", out.string()});
  ASSERT_EQ(get.exit_code, 0) << get.All();
  EXPECT_EQ(ReadFile(out / "sarif" / "cppcheck.sarif"), "{\"run\": 2}\n");
  EXPECT_EQ(ReadFile(out / "bin" / "tool.sh"), "#!/bin/sh\necho hi\n");
  struct stat st {};
  ASSERT_EQ(::stat((out / "bin" / "tool.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_TRUE(fs::is_symlink(out / "latest.sarif"));
  EXPECT_EQ(ReadFile(out / "latest.sarif"), "{\"run\": 2}\n");
  EXPECT_NE(get.out.find("2 files"), std::string::npos) << get.out;
}

TEST_F(ArtifactsE2E, AFileThatArrivesDamagedIsRefusedNamingItAndBothDigests) {
  json versions = server_.Get("/api/v1/teams/main/pipelines/p/resources/reports/versions");
  ASSERT_EQ(versions.size(), 2u) << versions.dump();
  json listing = server_.Get("/api/v1/teams/main/pipelines/p/resources/reports/versions/" +
                             std::to_string(versions[0]["id"].get<int64_t>()) + "/artifact");
  std::string sha;
  for (const auto& e : listing["entries"]) {
    if (e["path"] == "sarif/cppcheck.sarif") sha = e["sha256"];
  }
  ASSERT_EQ(sha.size(), 64u) << listing.dump();
  // The stored object changes on the server's disk, keeping its size.
  fs::path object = server_.data_dir() / "artifacts/objects" / sha.substr(0, 2) / sha.substr(2);
  ASSERT_EQ(ReadFile(object), "{\"run\": 2}\n");
  fs::permissions(object, fs::perms::owner_write, fs::perm_options::add);
  WriteFile(object, "{\"run\": 3}\n");

  CliResult get =
      server_.Cli({"download-artifact", "-r", "p/reports", "-o", (files_ / "bad").string()});
  EXPECT_NE(get.exit_code, 0) << get.All();
  EXPECT_NE(get.err.find("sarif/cppcheck.sarif arrived damaged"), std::string::npos) << get.All();
  EXPECT_NE(get.err.find(sha), std::string::npos) << get.All();
  EXPECT_FALSE(fs::exists(files_ / "bad/sarif/cppcheck.sarif"));
}

TEST_F(ArtifactsE2E, DownloadsAnOlderVersionByIdOrByDigestPrefix) {
  json versions = server_.Get("/api/v1/teams/main/pipelines/p/resources/reports/versions");
  ASSERT_EQ(versions.size(), 2u) << versions.dump();
  std::string id = std::to_string(versions[1]["id"].get<int64_t>());
  std::string prefix = versions[1]["version"]["digest"].get<std::string>().substr(0, 10);
  CliResult by_id = server_.Cli(
      {"download-artifact", "-r", "p/reports", "-v", id, "-o", (files_ / "a").string()});
  ASSERT_EQ(by_id.exit_code, 0) << by_id.All();
  EXPECT_EQ(ReadFile(files_ / "a" / "sarif" / "cppcheck.sarif"), "{\"run\": 1}\n");
  CliResult by_digest = server_.Cli(
      {"download-artifact", "-r", "p/reports", "-v", prefix, "-o", (files_ / "b").string()});
  ASSERT_EQ(by_digest.exit_code, 0) << by_digest.All();
  EXPECT_EQ(ReadFile(files_ / "b" / "sarif" / "cppcheck.sarif"), "{\"run\": 1}\n");
}

TEST_F(ArtifactsE2E, SaysWhatIsWrongWithAResourceOrVersionThatHasNoFiles) {
  CliResult not_artifact =
      server_.Cli({"download-artifact", "-r", "p/clock", "-o", (files_ / "c").string()});
  EXPECT_NE(not_artifact.exit_code, 0);
  CliResult unknown = server_.Cli(
      {"download-artifact", "-r", "p/reports", "-v", "ffffffff", "-o", (files_ / "d").string()});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("baton artifacts -r"), std::string::npos) << unknown.err;
  ApiReply wrong_type =
      server_.Api("GET", "/api/v1/teams/main/pipelines/p/resources/clock/versions/1/artifact");
  EXPECT_EQ(wrong_type.status, 400) << wrong_type.text;
  EXPECT_NE(wrong_type.text.find("only `artifact` resources"), std::string::npos)
      << wrong_type.text;
  json versions = server_.Get("/api/v1/teams/main/pipelines/p/resources/reports/versions");
  ASSERT_FALSE(versions.empty());
  std::string base = "/api/v1/teams/main/pipelines/p/resources/reports/versions/" +
                     std::to_string(versions[0]["id"].get<int64_t>()) + "/artifact";
  ApiReply anonymous = server_.Api("GET", base, "", {}, /*with_token=*/false);
  EXPECT_EQ(anonymous.status, 401) << anonymous.text;
  ApiReply missing = server_.Api("GET", base + "/file?path=no/such.file");
  EXPECT_EQ(missing.status, 404) << missing.text;
  EXPECT_NE(missing.text.find("no/such.file"), std::string::npos) << missing.text;
}

TEST(QuickstartHelp, SaysTheDefaultPort) {
  ProcessResult help = RunBaton({"quickstart", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.All();
  EXPECT_NE(help.out.find("127.0.0.1:8080"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace baton::testing
