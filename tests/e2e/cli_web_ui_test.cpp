// The CLI items of the web UI issue: `-t TARGET` before the verb as fly takes it, shell
// completion with names from the target, and `baton open`.
#include <gtest/gtest.h>

#include "fakes/server_process.h"

namespace baton::testing {
namespace {

class CliWebUi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started()) << server_.log();
    // A target saved under the name "ci" in a private ~/.batonrc; no BATON_* overrides.
    env_ = {"HOME=" + home_.path().string(), "NO_COLOR=1"};
    CliResult login = Run({"-t", "ci", "login", "-c", server_.url(), "--token", server_.token()});
    ASSERT_EQ(login.exit_code, 0) << login.All();
    ASSERT_NE(login.out.find("as target `ci`"), std::string::npos) << login.out;
    WriteFile(home_.path() / "p.yml",
              "jobs:\n- name: build\n  plan:\n  - task: t\n    config: {platform: linux, run: "
              "{path: 'true'}}\n");
  }
  CliResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), BatonBinary().string());
    return RunCli(args, env_);
  }
  ServerProcess server_;
  TempDir home_;
  std::vector<std::string> env_;
};

TEST_F(CliWebUi, TheTargetMayComeBeforeTheVerbOrAfterIt) {
  std::string file = (home_.path() / "p.yml").string();
  CliResult before = Run({"-t", "ci", "sp", "-n", "-p", "app", "-c", file});
  EXPECT_EQ(before.exit_code, 0) << before.All();
  CliResult after = Run({"pipelines", "-t", "ci"});
  EXPECT_EQ(after.exit_code, 0) << after.All();
  EXPECT_NE(after.out.find("app"), std::string::npos);
  CliResult unknown = Run({"-t", "nope", "pipelines"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("no target `nope`"), std::string::npos) << unknown.err;
  // After the verb wins over before it.
  EXPECT_EQ(Run({"-t", "nope", "pipelines", "-t", "ci"}).exit_code, 0);
}

TEST_F(CliWebUi, CompletionListsVerbsFlagsAndNamesFromTheTarget) {
  ASSERT_EQ(
      Run({"-t", "ci", "sp", "-n", "-p", "app", "-c", (home_.path() / "p.yml").string()}).exit_code,
      0);
  CliResult verbs = Run({"__complete", "verbs"});
  EXPECT_NE(verbs.out.find("set-pipeline\n"), std::string::npos) << verbs.out;
  EXPECT_NE(verbs.out.find("open\n"), std::string::npos);
  EXPECT_EQ(verbs.out.find("__complete"), std::string::npos) << "hidden";
  CliResult flags = Run({"__complete", "flags", "trigger-job"});
  EXPECT_NE(flags.out.find("--job\n"), std::string::npos) << flags.out;
  EXPECT_EQ(Run({"__complete", "-t", "ci", "pipelines"}).out, "app\n");
  EXPECT_EQ(Run({"__complete", "-t", "ci", "jobs"}).out, "app/build\n");
  EXPECT_EQ(Run({"__complete", "targets"}).out, "ci\n");
  CliResult bash = Run({"completion", "bash"});
  EXPECT_NE(bash.out.find("complete -o default -F _baton_complete baton"), std::string::npos);
  CliResult syntax = RunCli({"bash", "-n", "-c", bash.out}, {});
  EXPECT_EQ(syntax.exit_code, 0) << syntax.All();
  EXPECT_NE(Run({"completion", "zsh"}).out.find("bashcompinit"), std::string::npos);
}

TEST_F(CliWebUi, OpenPrintsTheUiUrlOfAPipelineAJobOrABuild) {
  const std::string url = server_.url();
  EXPECT_EQ(Run({"open", "-t", "ci", "-p", "app"}).out, url + "/teams/main/pipelines/app\n");
  EXPECT_EQ(Run({"-t", "ci", "open", "-j", "app/unit test"}).out,
            url + "/teams/main/pipelines/app/jobs/unit%20test\n");
  EXPECT_EQ(Run({"-t", "ci", "open", "-b", "42"}).out, url + "/builds/42\n");
  EXPECT_EQ(Run({"-t", "ci", "open"}).out, url + "/\n");
  CliResult bad = Run({"-t", "ci", "open", "-b", "x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("build id"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace baton::testing
