// PipelineStore conformance, run against every implementation: teams, pipelines and their
// config history, jobs, resources and versions, pins.
#include "store_conformance.h"

namespace baton::runner::conformance {
namespace {

class PipelineStoreConformance : public StoreConformanceTest {
 protected:
  void SetUp() override {
    StoreConformanceTest::SetUp();
    Open();
  }
};

TEST_P(PipelineStoreConformance, TheMainTeamAlwaysExistsAndTeamsAreUniqueByName) {
  auto team = pipelines().GetTeam("main");
  ASSERT_TRUE(team.ok()) << team.status().ToString();
  EXPECT_EQ(team->name, "main");
  ASSERT_TRUE(pipelines().CreateTeam("ops").ok());
  EXPECT_EQ(pipelines().CreateTeam("ops").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(pipelines().GetTeam("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(pipelines().ListTeams()->size(), 2u);
}

TEST_P(PipelineStoreConformance, ReopeningKeepsWhatWasWritten) {
  ASSERT_TRUE(pipelines().CreateTeam("ops").ok());
  ASSERT_TRUE(pipelines().SetPipeline(Update("app", {"build"}, {"repo"})).ok());
  Open();
  EXPECT_EQ(pipelines().ListTeams()->size(), 2u);
  auto p = pipelines().GetPipeline("main", "app");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(pipelines().ListJobs(p->id)->size(), 1u);
}

TEST_P(PipelineStoreConformance, SetPipelineKeepsEveryConfigVersion) {
  auto v1 = pipelines().SetPipeline(Update("app", {"build"}, {"repo"}));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->config_version, 1);
  EXPECT_TRUE(v1->paused);  // Concourse creates pipelines paused
  PipelineUpdate second = Update("app", {"build", "test"}, {"repo"});
  second.yaml = "second";
  auto v2 = pipelines().SetPipeline(second);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->config_version, 2);
  EXPECT_EQ(v2->id, v1->id);

  auto current = pipelines().GetPipelineConfig(v1->id, 0);
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  EXPECT_EQ(current->version, 2);
  EXPECT_EQ(current->yaml, "second");
  EXPECT_EQ(current->vars["branch"], "main");
  auto first = pipelines().GetPipelineConfig(v1->id, 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->yaml, "jobs: []\n");
  EXPECT_EQ(pipelines().GetPipelineConfig(v1->id, 3).status().code(), StatusCode::kNotFound);
}

TEST_P(PipelineStoreConformance, AStaleExpectedVersionIsRejectedAndNothingIsWritten) {
  ASSERT_TRUE(pipelines().SetPipeline(Update("app", {"build"}, {})).ok());
  PipelineUpdate stale = Update("app", {"other"}, {});
  stale.expected_version = 0;
  auto result = pipelines().SetPipeline(stale);
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  auto pipeline = pipelines().GetPipeline("main", "app");
  EXPECT_EQ(pipeline->config_version, 1);
  auto jobs = pipelines().ListJobs(pipeline->id);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].name, "build");

  stale.expected_version = 1;
  EXPECT_TRUE(pipelines().SetPipeline(stale).ok());
}

TEST_P(PipelineStoreConformance, SetPipelineInAnUnknownTeamIsNotFound) {
  PipelineUpdate u = Update("app", {}, {});
  u.team = "ghosts";
  EXPECT_EQ(pipelines().SetPipeline(u).status().code(), StatusCode::kNotFound);
}

TEST_P(PipelineStoreConformance, JobsMissingFromANewConfigBecomeInactiveAndRenamesKeepHistory) {
  auto p = pipelines().SetPipeline(Update("app", {"build", "test"}, {}));
  auto build_job = pipelines().GetJob(p->id, "build");
  ASSERT_TRUE(build_job.ok());
  ASSERT_TRUE(builds().CreateJobBuild(build_job->id, Json::object()).ok());

  PipelineUpdate renamed = Update("app", {"compile"}, {});
  renamed.jobs[0].old_name = "build";
  ASSERT_TRUE(pipelines().SetPipeline(renamed).ok());
  auto jobs = pipelines().ListJobs(p->id);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].name, "compile");
  EXPECT_EQ((*jobs)[0].id, build_job->id);
  EXPECT_EQ((*jobs)[0].next_build_number, 2);
  auto test_job = pipelines().GetJob(p->id, "test");
  ASSERT_TRUE(test_job.ok());
  EXPECT_FALSE(test_job->active);
}

TEST_P(PipelineStoreConformance, PausingAndExposingAPipelineAndPausingAJob) {
  auto p = pipelines().SetPipeline(Update("app", {"build"}, {}));
  ASSERT_TRUE(pipelines().SetPipelinePaused(p->id, false).ok());
  ASSERT_TRUE(pipelines().SetPipelinePublic(p->id, true).ok());
  auto after = pipelines().GetPipelineById(p->id);
  EXPECT_FALSE(after->paused);
  EXPECT_TRUE(after->public_);
  auto job = pipelines().GetJob(p->id, "build");
  ASSERT_TRUE(pipelines().SetJobPaused(job->id, true).ok());
  EXPECT_TRUE(pipelines().GetJobById(job->id)->paused);
  EXPECT_EQ(pipelines().SetPipelinePaused(999, true).code(), StatusCode::kNotFound);
}

TEST_P(PipelineStoreConformance, ListPipelinesFiltersByTeam) {
  ASSERT_TRUE(pipelines().CreateTeam("ops").ok());
  ASSERT_TRUE(pipelines().SetPipeline(Update("b", {}, {})).ok());
  PipelineUpdate other = Update("a", {}, {});
  other.team = "ops";
  ASSERT_TRUE(pipelines().SetPipeline(other).ok());
  EXPECT_EQ(pipelines().ListPipelines("")->size(), 2u);
  auto mains = pipelines().ListPipelines("main");
  ASSERT_EQ(mains->size(), 1u);
  EXPECT_EQ((*mains)[0].name, "b");
}

TEST_P(PipelineStoreConformance, ResourceVersionsAreSavedIdempotentlyInCheckOrder) {
  auto p = pipelines().SetPipeline(Update("app", {}, {"repo"}));
  auto repo = pipelines().GetResource(p->id, "repo");
  ASSERT_TRUE(repo.ok());
  std::vector<VersionFound> found = {{Json{{"ref", "a"}}, Json::array()},
                                     {Json{{"ref", "b"}}, Json::array()}};
  auto first = pipelines().SaveResourceVersions(repo->id, found);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // A re-check returns b again plus a new c: b keeps its place, c is newest.
  auto second = pipelines().SaveResourceVersions(
      repo->id, {{Json{{"ref", "b"}}, Json::array({{{"name", "author"}, {"value", "x"}}})},
                 {Json{{"ref", "c"}}, Json::array()}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)[0].id, (*first)[1].id);
  auto versions = pipelines().ListResourceVersions(repo->id, VersionPage{});
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].version["ref"], "c");
  EXPECT_EQ((*versions)[1].version["ref"], "b");
  EXPECT_EQ((*versions)[1].metadata[0]["value"], "x");
  EXPECT_EQ((*versions)[2].version["ref"], "a");
  auto page =
      pipelines().ListResourceVersions(repo->id, VersionPage{(*versions)[1].check_order, 10});
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].version["ref"], "a");
  EXPECT_TRUE(pipelines().GetResourceById(repo->id)->last_checked_at.has_value());
}

// A version recorded first (from a push) and found again by a check after versions older than
// it: the check's order wins and it stays the newest, as Concourse re-orders known versions.
TEST_P(PipelineStoreConformance, AKnownVersionACheckListsAfterANewOneBecomesTheNewest) {
  auto p = pipelines().SetPipeline(Update("app", {}, {"repo"}));
  auto repo = pipelines().GetResource(p->id, "repo");
  ASSERT_TRUE(pipelines().SaveResourceVersions(repo->id, {{Json{{"ref", "a"}}, {}}}).ok());
  auto pushed = pipelines().SaveResourceVersions(repo->id, {{Json{{"ref", "c"}}, {}}});
  auto checked = pipelines().SaveResourceVersions(
      repo->id, {{Json{{"ref", "a"}}, {}}, {Json{{"ref", "b"}}, {}}, {Json{{"ref", "c"}}, {}}});
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ((*checked)[2].id, (*pushed)[0].id);
  EXPECT_GT((*checked)[2].check_order, (*checked)[1].check_order);
  auto versions = pipelines().ListResourceVersions(repo->id, VersionPage{});
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].version["ref"], "c");
  EXPECT_EQ((*versions)[1].version["ref"], "b");
  EXPECT_EQ((*versions)[2].version["ref"], "a");
  // A version found again on its own keeps its place (no re-order without a newer one before).
  ASSERT_TRUE(pipelines().SaveResourceVersions(repo->id, {{Json{{"ref", "b"}}, {}}}).ok());
  EXPECT_EQ(pipelines().ListResourceVersions(repo->id, VersionPage{})->front().version["ref"], "c");
}

TEST_P(PipelineStoreConformance, ChangingTheSourceStartsAFreshVersionHistory) {
  auto p = pipelines().SetPipeline(Update("app", {}, {"repo"}));
  auto repo = pipelines().GetResource(p->id, "repo");
  ASSERT_TRUE(pipelines().SaveResourceVersions(repo->id, {{Json{{"ref", "a"}}, {}}}).ok());
  ASSERT_TRUE(pipelines().RecordCheckError(repo->id, "boom").ok());
  EXPECT_EQ(pipelines().GetResourceById(repo->id)->check_error, "boom");
  PipelineUpdate changed = Update("app", {}, {"repo"});
  changed.resources[0].source_hash = "hash-2";
  ASSERT_TRUE(pipelines().SetPipeline(changed).ok());
  EXPECT_TRUE(pipelines().ListResourceVersions(repo->id, {})->empty());
  EXPECT_EQ(pipelines().GetResourceById(repo->id)->check_error, "");
}

TEST_P(PipelineStoreConformance, PinningAndFindingVersions) {
  auto p = pipelines().SetPipeline(Update("app", {}, {"repo"}));
  auto repo = pipelines().GetResource(p->id, "repo");
  auto saved = pipelines().SaveResourceVersions(
      repo->id, {{Json{{"ref", "a"}, {"branch", "x"}}, {}}, {Json{{"ref", "b"}}, {}}});
  auto found = pipelines().FindResourceVersion(repo->id, Json{{"ref", "a"}});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->id, (*saved)[0].id);
  EXPECT_EQ(pipelines().FindResourceVersion(repo->id, Json{{"ref", "z"}}).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(pipelines().PinResourceVersion(repo->id, found->id, "hotfix").ok());
  EXPECT_EQ(pipelines().GetResourceById(repo->id)->pinned_version_id, found->id);
  EXPECT_EQ(pipelines().GetResourceById(repo->id)->pin_comment, "hotfix");
  ASSERT_TRUE(pipelines().PinResourceVersion(repo->id, 0, "").ok());
  EXPECT_EQ(pipelines().GetResourceById(repo->id)->pinned_version_id, 0);
  EXPECT_EQ(pipelines().PinResourceVersion(repo->id, 12345, "").code(), StatusCode::kNotFound);
}

TEST_P(PipelineStoreConformance, DestroyingAPipelineDeletesItsJobsBuildsAndEvents) {
  auto p = pipelines().SetPipeline(Update("app", {"build"}, {"repo"}));
  auto job = pipelines().GetJob(p->id, "build");
  auto build = builds().CreateJobBuild(job->id, Json::object());
  ASSERT_TRUE(events().AppendEvents(build->id, {Line("hi")}).ok());
  ASSERT_TRUE(events().Flush().ok());
  ASSERT_TRUE(pipelines().DestroyPipeline("main", "app").ok());
  EXPECT_EQ(pipelines().GetPipeline("main", "app").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(pipelines().GetJobById(job->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(builds().GetBuild(build->id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(events().ReadEvents(build->id, 0, 10)->empty());
  EXPECT_EQ(pipelines().DestroyPipeline("main", "app").code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Store, PipelineStoreConformance,
                         ::testing::ValuesIn(StoreImplementations()), ImplementationName);

}  // namespace
}  // namespace baton::runner::conformance
