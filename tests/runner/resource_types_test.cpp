// ResolveResourceType: what a `resource_types` entry's own fields do to a resource's step, as
// Concourse reads them (defaults, params, tags, check_every, privileged).
#include "baton/runner/resource_types.h"

#include <gtest/gtest.h>

namespace baton::runner {
namespace {

using pipelines::ResourceType;
using workers::ResourceRun;

ResourceType SlackType() {
  ResourceType t;
  t.name = "slack";
  t.type = "registry-image";
  t.source = {{"repository", "registry.example.com/tools/slack-resource"}};
  return t;
}

ResourceRun Resolved(const ResourceType& type, ResourceRun run = {}) {
  Status s = ResolveResourceType({type}, "slack", run);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return run;
}

TEST(ResolveResourceType, DefaultsGoUnderTheResourcesSourceAndTheResourceWins) {
  ResourceType type = SlackType();
  type.defaults = {{"channel", "#builds"}, {"url", "https://hooks.example.com/default"}};
  ResourceRun run;
  run.source = {{"url", "https://hooks.example.com/mine"}};
  run = Resolved(type, run);
  EXPECT_EQ(run.source, Json({{"channel", "#builds"}, {"url", "https://hooks.example.com/mine"}}));
  EXPECT_EQ(run.type, "slack");
  EXPECT_EQ(run.custom_type_image, type.source);
}

TEST(ResolveResourceType, TheTypesTagsJoinTheStepsOnce) {
  ResourceType type = SlackType();
  type.tags = {"internal", "linux"};
  ResourceRun run;
  run.placement.tags = {"linux", "gpu"};
  run = Resolved(type, run);
  EXPECT_EQ(run.placement.tags, (std::vector<std::string>{"linux", "gpu", "internal"}));
  EXPECT_EQ(Resolved(SlackType()).placement.tags, std::vector<std::string>{});
}

TEST(ResolveResourceType, CheckEveryIsHowLongTheImagesDigestIsReused) {
  ResourceType type = SlackType();
  EXPECT_EQ(Resolved(type).custom_type_check_every,

            std::optional<Duration>(std::chrono::minutes(1)));
  type.check_every = "10m";
  EXPECT_EQ(Resolved(type).custom_type_check_every,
            std::optional<Duration>(std::chrono::minutes(10)));
  type.check_every = "never";
  EXPECT_EQ(Resolved(type).custom_type_check_every, std::nullopt);
}

TEST(ResolveResourceType, ParamsThatWouldNotLeaveARootFilesystemAreRefusedNamingTheType) {
  ResourceType type = SlackType();
  type.params = {{"format", "rootfs"}};
  Resolved(type);
  type.params = {{"format", "oci"}};
  ResourceRun run;
  Status s = ResolveResourceType({type}, "slack", run);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("resource type `slack`"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("params.format"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("rootfs"), std::string::npos) << s.message();
  type.params = {{"skip_download", true}};
  s = ResolveResourceType({type}, "slack", run);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("skip_download"), std::string::npos) << s.message();
}

TEST(ResolveResourceType, APrivilegedTypeMakesItsStepsPrivileged) {
  ResourceType type = SlackType();
  EXPECT_FALSE(Resolved(type).privileged);
  type.privileged = true;
  EXPECT_TRUE(Resolved(type).privileged);
}

}  // namespace
}  // namespace baton::runner
