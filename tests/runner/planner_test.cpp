#include "baton/runner/planner.h"

#include <gtest/gtest.h>

namespace baton::runner {
namespace {

using pipelines::GetStep;
using pipelines::Job;
using pipelines::PipelineConfig;
using pipelines::Step;
using pipelines::VersionSpec;

Step Get(std::string name, std::vector<std::string> passed = {}, bool trigger = false,
         std::string resource = "") {
  GetStep g;
  g.name = std::move(name);
  g.resource = resource.empty() ? g.name : resource;
  g.passed = std::move(passed);
  g.trigger = trigger;
  Step s;
  s.body = std::move(g);
  return s;
}

Job MakeJob(std::string name, std::vector<Step> plan) {
  Job j;
  j.name = std::move(name);
  j.plan = std::move(plan);
  return j;
}

class PlannerTest : public ::testing::Test {
 protected:
  // Adds versions "<resource>-1".."<resource>-n" with ids base+1..base+n, oldest first.
  void AddVersions(const std::string& resource, int n, int64_t base) {
    for (int i = 1; i <= n; ++i) {
      snap_.versions[resource].push_back(
          {base + i, i, Json{{"ref", resource + "-" + std::to_string(i)}}});
    }
  }
  void Succeeded(const std::string& job, int64_t build_id,
                 std::map<std::string, std::set<int64_t>> versions) {
    snap_.succeeded_builds[job].push_back({build_id, std::move(versions)});
  }
  InputPlan Resolve(const Job& job) { return ResolveInputs(config_, job, snap_); }

  PipelineConfig config_;
  PlannerSnapshot snap_;
};

TEST_F(PlannerTest, PicksTheNewestVersionWhenThereIsNoConstraint) {
  AddVersions("repo", 3, 100);
  auto plan = Resolve(MakeJob("build", {Get("repo")}));
  ASSERT_TRUE(plan.resolved);
  ASSERT_EQ(plan.inputs.size(), 1u);
  EXPECT_EQ(plan.inputs[0].version_id, 103);
  EXPECT_EQ(plan.inputs[0].version["ref"], "repo-3");
}

TEST_F(PlannerTest, WaitsWithAReasonWhenAResourceHasNoVersions) {
  auto plan = Resolve(MakeJob("build", {Get("repo")}));
  EXPECT_FALSE(plan.resolved);
  EXPECT_EQ(plan.waiting_reason, "no versions of `repo` yet");
}

TEST_F(PlannerTest, PassedKeepsOnlyVersionsThatWentThroughTheUpstreamJob) {
  AddVersions("repo", 3, 100);
  Succeeded("build", 1, {{"repo", {101}}});
  Succeeded("build", 2, {{"repo", {102}}});
  auto plan = Resolve(MakeJob("test", {Get("repo", {"build"})}));
  ASSERT_TRUE(plan.resolved);
  EXPECT_EQ(plan.inputs[0].version_id, 102);
}

TEST_F(PlannerTest, WaitsWhenNoVersionHasPassedTheUpstreamJob) {
  AddVersions("repo", 2, 100);
  auto plan = Resolve(MakeJob("test", {Get("repo", {"build"})}));
  EXPECT_FALSE(plan.resolved);
  EXPECT_EQ(plan.waiting_reason, "no version of `repo` has passed `build`");
}

TEST_F(PlannerTest, FanInUsesTheSameVersionFromBothUpstreamJobs) {
  AddVersions("repo", 3, 100);
  Succeeded("unit", 1, {{"repo", {102}}});
  Succeeded("unit", 2, {{"repo", {103}}});
  Succeeded("lint", 3, {{"repo", {101}}});
  Succeeded("lint", 4, {{"repo", {102}}});
  auto plan = Resolve(MakeJob("deploy", {Get("repo", {"unit", "lint"})}));
  ASSERT_TRUE(plan.resolved);
  EXPECT_EQ(plan.inputs[0].version_id, 102);  // the newest that passed both
}

TEST_F(PlannerTest, InputsThroughOneUpstreamJobComeFromTheSameBuildOfIt) {
  AddVersions("repo", 3, 100);
  AddVersions("lib", 2, 200);
  // The newest repo and the newest lib never went through `build` together.
  Succeeded("build", 1, {{"repo", {103}}, {"lib", {201}}});
  Succeeded("build", 2, {{"repo", {102}}, {"lib", {202}}});
  auto plan = Resolve(MakeJob("test", {Get("repo", {"build"}), Get("lib", {"build"})}));
  ASSERT_TRUE(plan.resolved);
  EXPECT_EQ(plan.inputs[0].version_id, 103);
  EXPECT_EQ(plan.inputs[1].version_id, 201);
}

TEST_F(PlannerTest, ReportsWhenNoConsistentSetExists) {
  AddVersions("repo", 1, 100);
  AddVersions("lib", 1, 200);
  Succeeded("build", 1, {{"repo", {101}}});
  Succeeded("build", 2, {{"lib", {201}}});
  auto plan = Resolve(MakeJob("test", {Get("repo", {"build"}), Get("lib", {"build"})}));
  EXPECT_FALSE(plan.resolved);
  EXPECT_NE(plan.waiting_reason.find("no consistent set of versions of `repo`, `lib`"),
            std::string::npos);
}

TEST_F(PlannerTest, TriggersOnlyOnAVersionTheJobHasNotBuilt) {
  AddVersions("repo", 2, 100);
  Job job = MakeJob("build", {Get("repo", {}, /*trigger=*/true)});
  EXPECT_TRUE(Resolve(job).should_trigger);
  snap_.used_inputs["build"]["repo"] = {102};
  auto plan = Resolve(job);
  ASSERT_TRUE(plan.resolved);
  EXPECT_FALSE(plan.should_trigger);
  EXPECT_FALSE(plan.inputs[0].first_occurrence);
}

TEST_F(PlannerTest, NonTriggerInputsNeverTrigger) {
  AddVersions("repo", 1, 100);
  auto plan = Resolve(MakeJob("build", {Get("repo")}));
  ASSERT_TRUE(plan.resolved);
  EXPECT_TRUE(plan.inputs[0].first_occurrence);
  EXPECT_FALSE(plan.should_trigger);
}

TEST_F(PlannerTest, VersionEveryTakesTheOldestVersionNotYetBuilt) {
  AddVersions("repo", 4, 100);
  Step get = Get("repo", {}, true);
  std::get<GetStep>(get.body).version = VersionSpec{VersionSpec::Kind::kEvery, {}};
  Job job = MakeJob("build", {get});
  snap_.used_inputs["build"]["repo"] = {101, 102};
  auto plan = Resolve(job);
  ASSERT_TRUE(plan.resolved);
  EXPECT_EQ(plan.inputs[0].version_id, 103);
  EXPECT_TRUE(plan.should_trigger);
}

TEST_F(PlannerTest, StepVersionPinSelectsTheMatchingVersion) {
  AddVersions("repo", 3, 100);
  Step get = Get("repo");
  std::get<GetStep>(get.body).version =
      VersionSpec{VersionSpec::Kind::kPinned, Json{{"ref", "repo-1"}}};
  auto plan = Resolve(MakeJob("build", {get}));
  ASSERT_TRUE(plan.resolved);
  EXPECT_EQ(plan.inputs[0].version_id, 101);
}

TEST_F(PlannerTest, ResourceLevelPinAppliesToEveryJob) {
  AddVersions("repo", 3, 100);
  pipelines::Resource r;
  r.name = "repo";
  r.version = Json{{"ref", "repo-2"}};
  config_.resources.push_back(r);
  auto plan = Resolve(MakeJob("build", {Get("repo")}));
  ASSERT_TRUE(plan.resolved);
  EXPECT_EQ(plan.inputs[0].version_id, 102);
}

TEST_F(PlannerTest, ApiPinOverridesConfigAndWaitsIfThePinnedVersionIsGone) {
  AddVersions("repo", 3, 100);
  snap_.pins["repo"] = 101;
  EXPECT_EQ(Resolve(MakeJob("build", {Get("repo")})).inputs[0].version_id, 101);
  snap_.pins["repo"] = 999;
  auto plan = Resolve(MakeJob("build", {Get("repo")}));
  EXPECT_FALSE(plan.resolved);
  EXPECT_EQ(plan.waiting_reason, "pinned version of `repo` not found");
}

TEST_F(PlannerTest, DisabledVersionsAreSkipped) {
  AddVersions("repo", 2, 100);
  snap_.versions["repo"][1].disabled = true;
  EXPECT_EQ(Resolve(MakeJob("build", {Get("repo")})).inputs[0].version_id, 101);
}

TEST_F(PlannerTest, GetsNestedInsideDoAndHooksAreInputsToo) {
  AddVersions("repo", 1, 100);
  AddVersions("tools", 1, 200);
  pipelines::DoStep d;
  d.steps.push_back(Get("repo"));
  Step outer;
  outer.body = std::move(d);
  outer.ensure = std::make_shared<Step>(Get("tools"));
  auto inputs = JobInputs(MakeJob("build", {outer}));
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].name, "repo");
  EXPECT_EQ(inputs[1].name, "tools");
}

TEST_F(PlannerTest, AnArtifactNameCanDifferFromTheResourceName) {
  AddVersions("repo", 1, 100);
  auto plan = Resolve(MakeJob("build", {Get("source", {}, false, "repo")}));
  ASSERT_TRUE(plan.resolved);
  EXPECT_EQ(plan.inputs[0].name, "source");
  EXPECT_EQ(plan.inputs[0].resource, "repo");
}

}  // namespace
}  // namespace baton::runner
