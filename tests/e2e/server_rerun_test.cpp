// End to end: `baton rerun-build` and POST /api/v1/builds/:id/rerun against a real
// `baton quickstart`: the rerun ("1.1") runs with exactly the original build's git commit.
#include <gtest/gtest.h>

#include "fakes/git_fixture.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;

class ServerRerunE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started()) << server_.log();
    repo_ = std::make_unique<GitFixtureRepo>(files_ / "repo");
  }

  void SetPipeline() {
    std::string yaml =
        "resources:\n"
        "- name: repo\n"
        "  type: git\n"
        "  check_every: 1h\n"
        "  source: {uri: " +
        repo_->path().string() +
        ", branch: main}\n"
        "jobs:\n"
        "- name: show\n"
        "  plan:\n"
        "  - {get: repo, trigger: true}\n"
        "  - task: cat\n"
        "    config:\n"
        "      platform: linux\n"
        "      inputs: [{name: repo}]\n"
        "      run: {path: sh, args: [-c, 'echo content=$(cat repo/msg.txt)']}\n";
    WriteFile(files_ / "p.yml", yaml);
    CliResult set =
        server_.Cli({"set-pipeline", "-n", "-p", "p", "-c", (files_ / "p.yml").string()});
    ASSERT_EQ(set.exit_code, 0) << set.All();
    ASSERT_EQ(server_.Cli({"unpause-pipeline", "-p", "p"}).exit_code, 0);
  }

  ServerProcess server_;
  TempDir files_;
  std::unique_ptr<GitFixtureRepo> repo_;
};

TEST_F(ServerRerunE2E, RerunBuildRunsTheJobAgainWithTheOriginalCommitAsBuildOnePointOne) {
  std::string first_sha = repo_->Commit({{"msg.txt", "first"}}, "first");
  SetPipeline();
  json builds = server_.WaitForFinishedBuilds("p", "show", 1);
  ASSERT_EQ(builds.size(), 1u) << server_.log();
  repo_->Commit({{"msg.txt", "second"}}, "second");
  ASSERT_EQ(server_.Cli({"check-resource", "-r", "p/repo"}).exit_code, 0);
  builds = server_.WaitForFinishedBuilds("p", "show", 2);
  ASSERT_EQ(builds.size(), 2u) << server_.log();
  EXPECT_NE(server_.BuildLog(builds[0].value("id", int64_t{0})).find("content=second"),
            std::string::npos);

  CliResult rerun = server_.Cli({"rerun-build", "-j", "p/show", "-b", "1", "-w"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.All();
  EXPECT_NE(rerun.out.find("#1.1"), std::string::npos) << rerun.out;
  EXPECT_NE(rerun.out.find("content=first"), std::string::npos) << rerun.out;

  json rerun_build = server_.Get("/api/v1/teams/main/pipelines/p/jobs/show/builds/1.1");
  ASSERT_TRUE(rerun_build.is_object());
  EXPECT_EQ(rerun_build.value("status", ""), "succeeded");
  json resources = server_.Get("/api/v1/builds/" +
                               std::to_string(rerun_build.value("id", int64_t{0})) + "/resources");
  ASSERT_TRUE(resources.is_object());
  ASSERT_EQ(resources["inputs"].size(), 1u);
  EXPECT_EQ(resources["inputs"][0]["version"].value("ref", ""), first_sha);
  // No new build number was taken.
  json job = server_.Get("/api/v1/teams/main/pipelines/p/jobs/show");
  EXPECT_EQ(job.value("next_build_number", 0), 3);
}

TEST_F(ServerRerunE2E, TheRerunRouteAnswers201WithTheNewBuildAnd404ForAnUnknownBuild) {
  repo_->Commit({{"msg.txt", "only"}}, "only");
  SetPipeline();
  json builds = server_.WaitForFinishedBuilds("p", "show", 1);
  ASSERT_EQ(builds.size(), 1u) << server_.log();
  int64_t id = builds[0].value("id", int64_t{0});
  ApiReply reply = server_.Api("POST", "/api/v1/builds/" + std::to_string(id) + "/rerun");
  ASSERT_EQ(reply.status, 201) << reply.text;
  EXPECT_EQ(reply.json.value("name", ""), "1.1");
  EXPECT_EQ(reply.json.value("rerun_of", int64_t{0}), id);
  EXPECT_EQ(server_.WaitForFinishedBuilds("p", "show", 2).size(), 2u);
  EXPECT_EQ(server_.Api("POST", "/api/v1/builds/999999/rerun").status, 404);
  EXPECT_EQ(server_.Api("POST", "/api/v1/builds/1/rerun", "", {}, /*with_token=*/false).status,
            401);
}

}  // namespace
}  // namespace baton::testing
