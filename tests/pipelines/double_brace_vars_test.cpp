// The {{var}} interpolation Concourse removed: a file still using it is reported where it was
// written, with the ((var)) to write instead, by the loader and by `baton validate-pipeline`.
#include <gtest/gtest.h>

#include <string>

#include "baton/pipelines/loader.h"
#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::pipelines {
namespace {

constexpr const char* kOldPipeline = R"(resources:
- name: repo
  type: git
  source:
    uri: {{git-uri}}
    branch: main
jobs:
- name: build
  plan:
  - get: repo
  - task: unit
    config:
      platform: linux
      image_resource: {type: registry-image, source: {repository: busybox}}
      params: {TOKEN: {{ api-token }}}
      run: {path: sh, args: [-c, "docker inspect --format '{{.Id}}' x; echo {{ not_a_var }}"]}
)";

const Diagnostic* Find(const Diagnostics& diags, const std::string& needle) {
  for (const auto& d : diags.items())
    if (d.message.find(needle) != std::string::npos) return &d;
  return nullptr;
}

TEST(DoubleBraceVars, ANestedMapIsAnErrorAtItsFirstBraceWithTheVarToWrite) {
  PipelineLoad load = LoadPipeline(kOldPipeline, LoadOptions{});
  EXPECT_FALSE(load.ok());
  std::string all = RenderAll(load.diagnostics, "");
  const Diagnostic* uri = Find(load.diagnostics, "`{{git-uri}}`");
  ASSERT_NE(uri, nullptr) << all;
  EXPECT_EQ(uri->severity, Severity::kError);
  EXPECT_EQ(uri->mark.line, 5);
  EXPECT_EQ(uri->mark.column, 10);
  EXPECT_NE(uri->message.find("interpolation that Concourse removed"), std::string::npos);
  EXPECT_EQ(uri->hint, "write ((git-uri)) instead");

  const Diagnostic* token = Find(load.diagnostics, "`{{api-token}}`");  // spaces inside too
  ASSERT_NE(token, nullptr) << all;
  EXPECT_EQ(token->mark.line, 15);
  EXPECT_EQ(token->hint, "write ((api-token)) instead");
  // Go templates and spaced braces in a script's string are left alone.
  EXPECT_EQ(Find(load.diagnostics, ".Id"), nullptr) << all;
  EXPECT_EQ(Find(load.diagnostics, "not_a_var"), nullptr) << all;
  EXPECT_EQ(load.diagnostics.ErrorCount(), 2u) << all;
}

TEST(DoubleBraceVars, AStringHoldingOneIsAWarning) {
  std::string yaml =
      "resources:\n- name: repo\n  type: git\n  source: {uri: \"https://{{host}}/app.git\"}\n"
      "jobs:\n- name: build\n  plan: [{get: repo}]\n";
  PipelineLoad load = LoadPipeline(yaml, LoadOptions{});
  EXPECT_TRUE(load.ok()) << RenderAll(load.diagnostics, "");
  const Diagnostic* host = Find(load.diagnostics, "`{{host}}` in this string");
  ASSERT_NE(host, nullptr) << RenderAll(load.diagnostics, "");
  EXPECT_EQ(host->severity, Severity::kWarning);
  EXPECT_EQ(host->mark.line, 4);
  EXPECT_EQ(host->hint, "write ((host)) to use the var");
}

TEST(DoubleBraceVars, ATaskConfigIsCheckedToo) {
  TaskLoad load = LoadTaskConfig(
      "platform: linux\nrun: {path: echo}\nparams:\n  KEY: {{deploy-key}}\n", LoadOptions{});
  std::string all = RenderAll(load.diagnostics, "");
  const Diagnostic* key = Find(load.diagnostics, "`{{deploy-key}}`");
  ASSERT_NE(key, nullptr) << all;
  EXPECT_EQ(key->severity, Severity::kError);
  EXPECT_EQ(key->mark.line, 4);
  EXPECT_EQ(key->mark.column, 8);
}

TEST(DoubleBraceVars, ValidatePipelinePrintsThePositionAndTheHint) {
  testing::TempDir dir;
  testing::WriteFile(dir / "old.yml", kOldPipeline);
  auto r = testing::RunBatonShell("validate-pipeline -c " + (dir / "old.yml").string());
  std::string out = r.All();
  EXPECT_EQ(r.exit_code, 1) << out;
  EXPECT_NE(out.find("old.yml:5:10: error: `{{git-uri}}` is the {{var}} interpolation"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("hint: write ((git-uri)) instead"), std::string::npos) << out;
}

}  // namespace
}  // namespace baton::pipelines
