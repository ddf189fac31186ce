// `baton validate-pipeline` as users run it: the real binary, real files.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton {
namespace {

struct CliResult {
  int exit_code = -1;
  std::string output;
};

CliResult RunValidate(const std::string& args) {
  auto r = testing::RunBatonShell("validate-pipeline " + args);
  return {r.exit_code, r.All()};
}

constexpr const char* kTemplate = R"(resources:
- name: repo
  type: git
  source: {uri: ((uri))}
jobs:
- name: build
  plan:
  - get: repo
)";

TEST(ValidatePipelineCli, PrintsLooksGoodAndExitsZeroForAValidPipeline) {
  testing::TempDir dir;
  testing::WriteFile(dir / "p.yml", kTemplate);
  CliResult r = RunValidate("-c " + (dir / "p.yml").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("looks good"), std::string::npos) << r.output;
}

TEST(ValidatePipelineCli, ReportsEveryErrorWithPositionCaretAndSummary) {
  testing::TempDir dir;
  testing::WriteFile(dir / "p.yml",
                     "resources:\n- name: unused\n  type: git\njobs:\n"
                     "- name: build\n  serial_group: [x]\n  plan: []\n");
  CliResult r = RunValidate("-c " + (dir / "p.yml").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("p.yml:2:9: error: invalid resources: resource 'unused' is not used"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("p.yml:6:3: error: unknown field `serial_group` in job `build`"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("hint: did you mean `serial_groups`?"), std::string::npos);
  EXPECT_NE(r.output.find("      ^"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 errors, 0 warnings: configuration invalid"), std::string::npos)
      << r.output;
}

TEST(ValidatePipelineCli, CheckVarsFailsUntilTheVarIsGiven) {
  testing::TempDir dir;
  testing::WriteFile(dir / "p.yml", kTemplate);
  testing::WriteFile(dir / "vars.yml", "uri: https://example.com/repo.git\n");
  std::string file = (dir / "p.yml").string();
  CliResult missing = RunValidate("-c " + file + " --check-vars");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("p.yml:4:17: error: undefined var `uri`"), std::string::npos)
      << missing.output;
  EXPECT_EQ(RunValidate("-c " + file + " --check-vars -v uri=x").exit_code, 0);
  EXPECT_EQ(RunValidate("-c " + file + " --check-vars -y 'uri={a: b}'").exit_code, 0);
  EXPECT_EQ(RunValidate("-c " + file + " --check-vars -l " + (dir / "vars.yml").string()).exit_code,
            0);
}

TEST(ValidatePipelineCli, StrictTurnsWarningsIntoAFailingExitCode) {
  testing::TempDir dir;
  testing::WriteFile(dir / "p.yml", std::string("anchors: {}\n") + kTemplate);
  std::string file = (dir / "p.yml").string();
  CliResult lenient = RunValidate("-c " + file);
  EXPECT_EQ(lenient.exit_code, 0) << lenient.output;
  EXPECT_NE(lenient.output.find("looks good (1 warning)"), std::string::npos) << lenient.output;
  CliResult strict = RunValidate("-c " + file + " --strict");
  EXPECT_EQ(strict.exit_code, 1) << strict.output;
  EXPECT_NE(strict.output.find("configuration invalid"), std::string::npos) << strict.output;
}

TEST(ValidatePipelineCli, JsonOutputListsDiagnosticsWithPositions) {
  testing::TempDir dir;
  testing::WriteFile(dir / "p.yml", "jobs:\n- name: build\n  plan:\n  - get: nope\n");
  CliResult r = RunValidate("-c " + (dir / "p.yml").string() + " --output json");
  EXPECT_EQ(r.exit_code, 1);
  auto json = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << r.output;
  EXPECT_EQ(json["valid"], false);
  ASSERT_EQ(json["errors"].size(), 1u);
  const auto& e = json["errors"][0];
  EXPECT_EQ(e["line"], 4);
  EXPECT_EQ(e["column"], 10);
  EXPECT_EQ(e["severity"], "error");
  EXPECT_EQ(e["message"], "unknown resource `nope` in get step");
  EXPECT_EQ(e["file"], (dir / "p.yml").string());
}

TEST(ValidatePipelineCli, UsageErrorsExitTwo) {
  EXPECT_EQ(RunValidate("").exit_code, 2);
  CliResult missing = RunValidate("-c /nonexistent/pipeline.yml");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("/nonexistent/pipeline.yml"), std::string::npos);
  testing::TempDir dir;
  testing::WriteFile(dir / "p.yml", kTemplate);
  EXPECT_EQ(RunValidate("-c " + (dir / "p.yml").string() + " -v novalue").exit_code, 2);
}

}  // namespace
}  // namespace baton
