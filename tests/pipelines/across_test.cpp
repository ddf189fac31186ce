#include <gtest/gtest.h>

#include "baton/pipelines/loader.h"

namespace baton::pipelines {
namespace {

PipelineLoad LoadAcross(const std::string& yaml) {
  LoadOptions options;
  options.file_name = "p.yml";
  return LoadPipeline(yaml, options);
}

TEST(Across, FailFastStandsBesideAcrossAsInConcourse) {
  auto load = LoadAcross(R"(
jobs:
- name: j
  plan:
  - across: [{var: v, values: [a, b]}]
    fail_fast: true
    task: t
    config: {platform: linux, run: {path: echo}}
)");
  ASSERT_TRUE(load.ok()) << RenderAll(load.diagnostics, "");
  const Step& step = load.config->jobs[0].plan[0];
  EXPECT_TRUE(step.across_fail_fast);
  ASSERT_EQ(step.across.size(), 1u);
  EXPECT_EQ(step.across[0].values, (Json{"a", "b"}));
}

TEST(Across, FailFastWithoutAcrossIsAnUnknownField) {
  auto load = LoadAcross(R"(
jobs:
- name: j
  plan:
  - fail_fast: true
    task: t
    config: {platform: linux, run: {path: echo}}
)");
  EXPECT_FALSE(load.ok());
  ASSERT_FALSE(load.diagnostics.items().empty());
  EXPECT_NE(load.diagnostics.items()[0].message.find("fail_fast"), std::string::npos);
}

}  // namespace
}  // namespace baton::pipelines
