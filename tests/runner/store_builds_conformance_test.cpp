// BuildStore conformance, run against every implementation: numbering, lifecycle transitions,
// reruns, inputs/outputs, orphans, retention and the artifacts index.
#include <set>
#include <thread>

#include "store_conformance.h"

namespace baton::runner::conformance {
namespace {

class BuildStoreConformance : public StoreConformanceTest {
 protected:
  void SetUp() override {
    StoreConformanceTest::SetUp();
    Open();
    auto p = pipelines().SetPipeline(Update("app", {"build", "test"}, {"repo"}));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    job_ = pipelines().GetJob(p->id, "build")->id;
    other_job_ = pipelines().GetJob(p->id, "test")->id;
    repo_ = pipelines().GetResource(p->id, "repo")->id;
  }

  // A build of `job` that ran to `status` (with `inputs`).
  Build Finished(Id job, BuildStatus status, const std::vector<BuildInput>& inputs = {}) {
    auto b = builds().CreateJobBuild(job, Json::object());
    EXPECT_TRUE(builds().SaveBuildInputs(b->id, inputs).ok());
    EXPECT_TRUE(builds().StartBuild(b->id).ok());
    auto done = builds().FinishBuild(b->id, status);
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    return *done;
  }

  Id Version(const std::string& ref) {
    auto v = pipelines().SaveResourceVersions(repo_, {VersionFound{Json{{"ref", ref}}, {}}});
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v->front().id;
  }

  Id job_ = 0, other_job_ = 0, repo_ = 0;
};

TEST_P(BuildStoreConformance, BuildsAreNumberedPerJobEvenWhenCreatedConcurrently) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) EXPECT_TRUE(builds().CreateJobBuild(job_, {}).ok());
    });
  }
  for (auto& t : threads) t.join();
  auto other = builds().CreateJobBuild(other_job_, {});
  EXPECT_EQ(other->name, "1");
  BuildQuery q;
  q.job_id = job_;
  q.limit = 200;
  auto all = builds().ListBuilds(q);
  ASSERT_EQ(all->size(), 100u);
  std::set<std::string> names;
  for (const Build& b : *all) names.insert(b.name);
  EXPECT_EQ(names.size(), 100u);
  EXPECT_TRUE(names.count("1") && names.count("100"));
  EXPECT_EQ(pipelines().GetJobById(job_)->next_build_number, 101);
  EXPECT_EQ(builds().GetJobBuild(job_, "42")->job, "build");
}

TEST_P(BuildStoreConformance, ABuildGoesPendingStartedFinishedAndNoOtherWay) {
  auto b = builds().CreateJobBuild(job_, Json{{"do", Json::array()}});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->status, BuildStatus::kPending);
  EXPECT_EQ(b->pipeline, "app");
  EXPECT_EQ(b->team, "main");
  EXPECT_EQ(b->plan, (Json{{"do", Json::array()}}));
  EXPECT_EQ(builds().FinishBuild(b->id, BuildStatus::kSucceeded).status().code(),
            StatusCode::kFailedPrecondition);
  clock_.Advance(std::chrono::seconds(5));
  auto started = builds().StartBuild(b->id);
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(started->status, BuildStatus::kStarted);
  EXPECT_TRUE(started->started_at.has_value());
  EXPECT_EQ(builds().StartBuild(b->id).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(builds().FinishBuild(b->id, BuildStatus::kStarted).status().code(),
            StatusCode::kInvalidArgument);
  auto done = builds().FinishBuild(b->id, BuildStatus::kFailed);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status, BuildStatus::kFailed);
  EXPECT_TRUE(done->finished_at.has_value());
  EXPECT_EQ(builds().FinishBuild(b->id, BuildStatus::kSucceeded).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(builds().GetBuild(b->id)->status, BuildStatus::kFailed);
}

TEST_P(BuildStoreConformance, APendingBuildCanBeAbortedWithoutStarting) {
  auto b = builds().CreateJobBuild(job_, {});
  auto aborted = builds().FinishBuild(b->id, BuildStatus::kAborted);
  ASSERT_TRUE(aborted.ok());
  EXPECT_FALSE(aborted->started_at.has_value());
}

TEST_P(BuildStoreConformance, OneOffBuildsAreNamedByTheirId) {
  auto b = builds().CreateOneOffBuild("main", 0, Json::object());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(b->one_off());
  EXPECT_EQ(b->name, std::to_string(b->id));
  EXPECT_EQ(builds().CreateOneOffBuild("ghosts", 0, {}).status().code(), StatusCode::kNotFound);
}

TEST_P(BuildStoreConformance, ListBuildsPagesNewestFirstAndFiltersByStatus) {
  std::vector<Id> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(builds().CreateJobBuild(job_, {})->id);
  BuildQuery q;
  q.job_id = job_;
  q.limit = 2;
  auto first = builds().ListBuilds(q);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, ids[4]);
  q.until_id = (*first)[1].id;
  auto next = builds().ListBuilds(q);
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].id, ids[2]);
  q = BuildQuery{};
  q.since_id = ids[3];
  EXPECT_EQ(builds().ListBuilds(q)->size(), 1u);
  ASSERT_TRUE(builds().StartBuild(ids[0]).ok());
  q = BuildQuery{};
  q.statuses = {BuildStatus::kStarted};
  auto running = builds().ListBuilds(q);
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].id, ids[0]);
}

TEST_P(BuildStoreConformance, NewestJobBuildsGivesEachJobsNewestBuildWithTheStatusesAsked) {
  const Id app = pipelines().GetJobById(job_)->pipeline_id;
  auto lib = pipelines().SetPipeline(Update("lib", {"build"}, {}));
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  const Id lib_job = pipelines().GetJob(lib->id, "build")->id;
  EXPECT_TRUE(builds().NewestJobBuilds(app, {})->empty());  // no builds yet

  const Build failed = Finished(job_, BuildStatus::kFailed);
  const Build succeeded = Finished(job_, BuildStatus::kSucceeded);
  const Build running = *builds().StartBuild(builds().CreateJobBuild(job_, {})->id);
  const Build rerun = *builds().CreateRerunBuild(failed.id, {});  // the newest: a higher id
  const Build other = Finished(other_job_, BuildStatus::kErrored);
  Finished(lib_job, BuildStatus::kSucceeded);                                 // another pipeline's
  ASSERT_TRUE(builds().CreateOneOffBuild("main", app, Json::object()).ok());  // no job's

  const std::vector<BuildStatus> finished = {BuildStatus::kSucceeded, BuildStatus::kFailed,
                                             BuildStatus::kErrored, BuildStatus::kAborted};
  auto newest_finished = builds().NewestJobBuilds(app, finished);
  ASSERT_TRUE(newest_finished.ok()) << newest_finished.status().ToString();
  ASSERT_EQ(newest_finished->size(), 2u);
  EXPECT_EQ(newest_finished->at(job_).id, succeeded.id);
  EXPECT_EQ(newest_finished->at(job_).status, BuildStatus::kSucceeded);
  EXPECT_EQ(newest_finished->at(job_).job, "build");
  EXPECT_EQ(newest_finished->at(job_).pipeline, "app");
  EXPECT_EQ(newest_finished->at(other_job_).id, other.id);

  auto unfinished = builds().NewestJobBuilds(app, {BuildStatus::kPending, BuildStatus::kStarted});
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ(unfinished->at(job_).id, rerun.id);
  EXPECT_EQ(builds().NewestJobBuilds(app, {BuildStatus::kStarted})->at(job_).id, running.id);

  auto any = builds().NewestJobBuilds(app, {});
  ASSERT_EQ(any->size(), 2u);
  EXPECT_EQ(any->at(job_).id, rerun.id);
  // The same answer as ListBuilds asked one job at a time.
  for (const auto& [job, build] : *any) {
    BuildQuery q;
    q.job_id = job;
    q.limit = 1;
    EXPECT_EQ(builds().ListBuilds(q)->front().id, build.id);
  }
  EXPECT_TRUE(builds().NewestJobBuilds(lib->id + 1000, {})->empty());  // no such pipeline
}

// The newest build of each status is found however deep in a job's history it lies: a build
// still running under many newer finished ones, a finished one under newer unfinished ones.
TEST_P(BuildStoreConformance, NewestJobBuildsFindsABuildUnderManyNewerOnes) {
  const Id app = pipelines().GetJobById(job_)->pipeline_id;
  const Build old_running = *builds().StartBuild(builds().CreateJobBuild(job_, {})->id);
  Build last_finished;
  for (int i = 0; i < 30; ++i) last_finished = Finished(job_, BuildStatus::kSucceeded);
  const Build finished_other = Finished(other_job_, BuildStatus::kFailed);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(builds().CreateJobBuild(other_job_, {}).ok());

  auto started = builds().NewestJobBuilds(app, {BuildStatus::kStarted});
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  ASSERT_EQ(started->size(), 1u);
  EXPECT_EQ(started->at(job_).id, old_running.id);
  auto finished = builds().NewestJobBuilds(app, {BuildStatus::kSucceeded, BuildStatus::kFailed});
  ASSERT_EQ(finished->size(), 2u);
  EXPECT_EQ(finished->at(job_).id, last_finished.id);
  EXPECT_EQ(finished->at(other_job_).id, finished_other.id);
  auto pending = builds().NewestJobBuilds(app, {BuildStatus::kPending});
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_GT(pending->at(other_job_).id, finished_other.id);
  EXPECT_EQ(pending->at(other_job_).status, BuildStatus::kPending);
}

// Lists that never show a build's plan skip reading and parsing it; a build alone keeps it.
TEST_P(BuildStoreConformance, ListsWithoutPlansReadThemAsNull) {
  const Json plan = {{"schema", "baton.plan.v1"}, {"job", "build"}};
  const Build built = *builds().CreateJobBuild(job_, plan);
  ASSERT_TRUE(builds().StartBuild(built.id).ok());
  ASSERT_TRUE(builds().FinishBuild(built.id, BuildStatus::kSucceeded).ok());
  EXPECT_EQ(builds().GetBuild(built.id)->plan, plan);
  BuildQuery q;
  q.job_id = job_;
  EXPECT_EQ(builds().ListBuilds(q)->front().plan, plan);
  q.with_plan = false;
  auto summary = builds().ListBuilds(q);
  ASSERT_EQ(summary->size(), 1u);
  EXPECT_TRUE(summary->front().plan.is_null());
  EXPECT_EQ(summary->front().status, BuildStatus::kSucceeded);
  EXPECT_EQ(summary->front().job, "build");
  const Id app = pipelines().GetJobById(job_)->pipeline_id;
  auto newest = builds().NewestJobBuilds(app, {});
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_TRUE(newest->at(job_).plan.is_null());
  EXPECT_EQ(newest->at(job_).id, built.id);
}

// A finished build comes back with its plan, whether this store created it (and kept the plan)
// or another one did (a store opened since, another node).
TEST_P(BuildStoreConformance, AFinishedBuildComesBackWithThePlanItWasCreatedWith) {
  const Json plan = {{"schema", "baton.plan.v1"}, {"job", "build"}, {"steps", {1, 2.5, "x"}}};
  const Build here = *builds().CreateStartedJobBuild(job_, plan, {});
  const Build elsewhere = *builds().CreateStartedJobBuild(job_, plan, {});
  auto finished = builds().FinishBuild(here.id, BuildStatus::kSucceeded);
  ASSERT_TRUE(finished.ok()) << finished.status().ToString();
  EXPECT_EQ(finished->plan, plan);
  EXPECT_EQ(finished->status, BuildStatus::kSucceeded);
  EXPECT_EQ(finished->job, "build");
  EXPECT_TRUE(finished->finished_at.has_value());
  Open();
  finished = builds().FinishBuild(elsewhere.id, BuildStatus::kFailed);
  ASSERT_TRUE(finished.ok()) << finished.status().ToString();
  EXPECT_EQ(finished->plan, plan);
  EXPECT_EQ(finished->status, BuildStatus::kFailed);
  // A build created pending (another node may claim it) is finished with its plan too.
  const Build pending = *builds().CreateJobBuild(job_, plan);
  ASSERT_TRUE(builds().StartBuild(pending.id).ok());
  finished = builds().FinishBuild(pending.id, BuildStatus::kSucceeded);
  ASSERT_TRUE(finished.ok()) << finished.status().ToString();
  EXPECT_EQ(finished->plan, plan);
  // Finishing again is refused, and says why.
  EXPECT_EQ(builds().FinishBuild(here.id, BuildStatus::kFailed).status().code(),
            StatusCode::kFailedPrecondition);
}

// New to the job, not to the pipeline: another job's use of the version, or the same version under
// another input name, does not count; a rerun's inputs are never new.
TEST_P(BuildStoreConformance, AVersionAnotherJobUsedIsStillNewToThisJob) {
  Id a = Version("a");
  auto other = builds().CreateJobBuildWithInputs(other_job_, {}, {BuildInput{"repo", a}});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto mine = builds().CreateJobBuildWithInputs(job_, {}, {BuildInput{"repo", a}});
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  auto renamed = builds().CreateJobBuildWithInputs(job_, {}, {BuildInput{"source", a}});
  auto again = builds().CreateJobBuildWithInputs(job_, {}, {BuildInput{"repo", a}});
  auto rerun = builds().CreateRerunBuild(mine->id, {});
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  auto after_rerun = builds().CreateJobBuildWithInputs(other_job_, {}, {BuildInput{"repo", a}});
  EXPECT_TRUE(builds().ListBuildInputs(other->id)->at(0).first_occurrence);
  EXPECT_TRUE(builds().ListBuildInputs(mine->id)->at(0).first_occurrence);
  EXPECT_TRUE(builds().ListBuildInputs(renamed->id)->at(0).first_occurrence);
  EXPECT_FALSE(builds().ListBuildInputs(again->id)->at(0).first_occurrence);
  EXPECT_FALSE(builds().ListBuildInputs(rerun->id)->at(0).first_occurrence);
  EXPECT_FALSE(builds().ListBuildInputs(after_rerun->id)->at(0).first_occurrence);
}

TEST_P(BuildStoreConformance, InputsRecordWhetherTheVersionIsNewToTheJob) {
  Id a = Version("a"), b = Version("b");
  auto first = builds().CreateJobBuild(job_, {});
  ASSERT_TRUE(builds().SaveBuildInputs(first->id, {BuildInput{"repo", a}}).ok());
  auto second =
      builds().CreateJobBuildWithInputs(job_, {}, {BuildInput{"repo", a}, BuildInput{"src", b}});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto one = builds().ListBuildInputs(first->id);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_TRUE((*one)[0].first_occurrence);
  EXPECT_EQ((*one)[0].version["ref"], "a");
  auto two = builds().ListBuildInputs(second->id);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_FALSE((*two)[0].first_occurrence);  // repo@a seen by build 1
  EXPECT_TRUE((*two)[1].first_occurrence);   // src@b is new
  ASSERT_TRUE(builds().SaveBuildOutputs(second->id, {BuildOutput{"repo", b}}).ok());
  auto outputs = builds().ListBuildOutputs(second->id);
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].resource_id, repo_);
  EXPECT_EQ((*outputs)[0].version["ref"], "b");
  EXPECT_EQ(builds().SaveBuildInputs(first->id, {BuildInput{"x", 9999}}).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(builds().ListBuildInputs(first->id)->size(), 1u);  // the failed save changed nothing
}

// What the scheduler does when it runs the build it creates: one transaction, not two.
TEST_P(BuildStoreConformance, ABuildCreatedStartedIsNumberedStartedAndHasItsInputs) {
  Id a = Version("a");
  ASSERT_TRUE(builds().CreateJobBuild(job_, {}).ok());
  clock_.Advance(std::chrono::seconds(5));
  auto b = builds().CreateStartedJobBuild(job_, Json{{"do", Json::array()}}, {{"repo", a}});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->name, "2");
  EXPECT_EQ(b->status, BuildStatus::kStarted);
  ASSERT_TRUE(b->started_at.has_value());
  EXPECT_EQ(ToUnixMillis(*b->started_at), ToUnixMillis(clock_.Now()));
  EXPECT_EQ(ToUnixMillis(b->created_at), ToUnixMillis(clock_.Now()));
  EXPECT_EQ(b->plan, (Json{{"do", Json::array()}}));
  EXPECT_EQ(builds().GetBuild(b->id)->status, BuildStatus::kStarted);
  EXPECT_EQ(builds().StartBuild(b->id).status().code(), StatusCode::kFailedPrecondition);
  auto inputs = builds().ListBuildInputs(b->id);
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_TRUE((*inputs)[0].first_occurrence);
  EXPECT_EQ(builds().FinishBuild(b->id, BuildStatus::kSucceeded)->status, BuildStatus::kSucceeded);
  EXPECT_EQ(builds().CreateStartedJobBuild(9999, {}, {}).status().code(), StatusCode::kNotFound);
}

TEST_P(BuildStoreConformance, BuildsLeftRunningAreMarkedErroredWithTheReason) {
  Build done = Finished(job_, BuildStatus::kSucceeded);
  auto pending = builds().CreateJobBuild(job_, {});
  auto running = builds().CreateJobBuild(job_, {});
  ASSERT_TRUE(builds().StartBuild(running->id).ok());
  auto orphans = builds().MarkOrphanedBuildsErrored("baton restarted while it ran");
  ASSERT_TRUE(orphans.ok()) << orphans.status().ToString();
  ASSERT_EQ(orphans->size(), 2u);
  EXPECT_EQ((*orphans)[0].id, pending->id);
  EXPECT_EQ((*orphans)[1].status, BuildStatus::kErrored);
  EXPECT_EQ((*orphans)[1].error, "baton restarted while it ran");
  EXPECT_EQ(builds().GetBuild(done.id)->status, BuildStatus::kSucceeded);
  auto log = events().ReadEvents(running->id, 0, 10);
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].type, "error");
  EXPECT_TRUE(builds().MarkOrphanedBuildsErrored("again")->empty());
}

TEST_P(BuildStoreConformance, RetentionByCountKeepsTheNewestAndTheMinimumSucceeded) {
  Build old_success = Finished(job_, BuildStatus::kSucceeded);
  std::vector<Build> failures;
  for (int i = 0; i < 4; ++i) failures.push_back(Finished(job_, BuildStatus::kFailed));
  auto running = builds().CreateJobBuild(job_, {});
  ASSERT_TRUE(builds().StartBuild(running->id).ok());
  ASSERT_TRUE(events().AppendEvents(failures[0].id, {Line("reaped")}).ok());
  ASSERT_TRUE(events().AppendEvents(failures[2].id, {Line("kept")}).ok());
  ASSERT_TRUE(events().Flush().ok());
  ASSERT_TRUE(builds().RecordArtifact(failures[0].id, "bin", "sha256:aa", 10).ok());
  ASSERT_TRUE(builds().RecordArtifact(failures[1].id, "bin", "sha256:bb", 10).ok());
  ASSERT_TRUE(builds().RecordArtifact(failures[3].id, "bin", "sha256:bb", 10).ok());
  pipelines::BuildLogRetention retention;
  retention.builds = 2;
  retention.minimum_succeeded_builds = 1;
  auto reaped = builds().ReapBuilds(job_, retention, clock_.Now());
  ASSERT_TRUE(reaped.ok()) << reaped.status().ToString();
  std::set<Id> gone;
  for (const Build& b : reaped->builds) gone.insert(b.id);
  EXPECT_EQ(gone, (std::set<Id>{failures[0].id, failures[1].id}));
  EXPECT_EQ(reaped->unreferenced_digests, std::vector<std::string>{"sha256:aa"});
  EXPECT_TRUE(builds().GetBuild(old_success.id).ok());
  EXPECT_TRUE(builds().GetBuild(running->id).ok());
  auto reaped_build = builds().GetBuild(failures[0].id);
  ASSERT_TRUE(reaped_build.ok()) << "the build stays; only its log and artifacts go";
  EXPECT_TRUE(reaped_build->logs_reaped_at.has_value());
  EXPECT_TRUE(events().ReadEvents(failures[0].id, 0, 10)->empty());
  EXPECT_EQ(events().ReadEvents(failures[2].id, 0, 10)->size(), 1u);
  EXPECT_FALSE(builds().GetBuild(failures[2].id)->logs_reaped_at.has_value());
  EXPECT_TRUE(builds().ListArtifacts(failures[0].id)->empty());
  EXPECT_TRUE(*builds().IsDigestReferenced("sha256:bb"));
}

// Each build's end reaps again: what fell out of the window since, and nothing reaped before.
TEST_P(BuildStoreConformance, RetentionGoesOnBuildByBuildKeepingTheNewest) {
  pipelines::BuildLogRetention retention;
  retention.builds = 2;
  std::vector<Build> done;
  std::set<Id> gone;
  for (int i = 0; i < 6; ++i) {
    done.push_back(Finished(job_, i == 0 ? BuildStatus::kSucceeded : BuildStatus::kFailed));
    auto reaped = builds().ReapBuilds(job_, retention, clock_.Now());
    ASSERT_TRUE(reaped.ok()) << reaped.status().ToString();
    ASSERT_LE(reaped->builds.size(), 1u) << "one build falls out of the window at a time";
    for (const Build& b : reaped->builds) EXPECT_TRUE(gone.insert(b.id).second) << b.id;
  }
  EXPECT_EQ(gone, (std::set<Id>{done[0].id, done[1].id, done[2].id, done[3].id}));
  EXPECT_FALSE(builds().GetBuild(done[4].id)->logs_reaped_at.has_value());
  EXPECT_FALSE(builds().GetBuild(done[5].id)->logs_reaped_at.has_value());
  retention.builds = 4;  // a larger window later keeps what is left; what went stays gone
  EXPECT_TRUE(builds().ReapBuilds(job_, retention, clock_.Now())->builds.empty());
}

TEST_P(BuildStoreConformance, RetentionByDaysReapsOnlyOldBuildsOfThatJob) {
  Build old_build = Finished(job_, BuildStatus::kFailed);
  Build other = Finished(other_job_, BuildStatus::kFailed);
  clock_.Advance(std::chrono::hours(24 * 3));
  Build recent = Finished(job_, BuildStatus::kFailed);
  pipelines::BuildLogRetention retention;
  retention.days = 2;
  auto reaped = builds().ReapBuilds(job_, retention, clock_.Now());
  ASSERT_EQ(reaped->builds.size(), 1u);
  EXPECT_EQ(reaped->builds[0].id, old_build.id);
  EXPECT_TRUE(builds().GetBuild(recent.id).ok());
  EXPECT_TRUE(builds().GetBuild(other.id).ok());
  EXPECT_TRUE(builds().ReapBuilds(job_, {}, clock_.Now())->builds.empty());
  EXPECT_TRUE(builds().ReapBuilds(job_, retention, clock_.Now())->builds.empty())
      << "a build whose log is gone is not reaped twice";
}

TEST_P(BuildStoreConformance, ARerunIsNamedAfterItsOriginalAndCopiesItsInputs) {
  Id version = Version("a");
  Build first = Finished(job_, BuildStatus::kFailed, {BuildInput{"repo", version}});
  Finished(job_, BuildStatus::kSucceeded, {BuildInput{"repo", version}});
  auto rerun = builds().CreateRerunBuild(first.id, Json::object());
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  EXPECT_EQ(rerun->name, "1.1");
  EXPECT_EQ(rerun->status, BuildStatus::kPending);
  EXPECT_EQ(rerun->rerun_of, first.id);
  EXPECT_EQ(rerun->rerun_number, 1);
  EXPECT_EQ(rerun->job_id, job_);
  auto inputs = builds().ListBuildInputs(rerun->id);
  ASSERT_TRUE(inputs.ok());
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].resource_version_id, version);
  EXPECT_FALSE((*inputs)[0].first_occurrence);
  // A rerun of the rerun is the original's second rerun; build numbers are untouched.
  auto second = builds().CreateRerunBuild(rerun->id, Json::object());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->name, "1.2");
  EXPECT_EQ(second->rerun_of, first.id);
  EXPECT_EQ(pipelines().GetJobById(job_)->next_build_number, 3);
  EXPECT_EQ(builds().GetJobBuild(job_, "1.2")->id, second->id);
}

TEST_P(BuildStoreConformance, OneOffBuildsCannotBeRerun) {
  auto one_off = builds().CreateOneOffBuild("main", 0, Json::object());
  ASSERT_TRUE(one_off.ok());
  EXPECT_EQ(builds().CreateRerunBuild(one_off->id, {}).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(builds().CreateRerunBuild(4242, {}).status().code(), StatusCode::kNotFound);
}

TEST_P(BuildStoreConformance, VersionsUsedByBuildsAreListedNewestFirst) {
  Id a = Version("a");
  Id b = Version("b");
  Version("unused");
  Finished(job_, BuildStatus::kSucceeded, {BuildInput{"repo", a}});
  Build producer = Finished(other_job_, BuildStatus::kSucceeded);
  ASSERT_TRUE(builds().SaveBuildOutputs(producer.id, {BuildOutput{"repo", b}}).ok());
  auto used = builds().ListVersionsUsedByBuilds(repo_);
  ASSERT_TRUE(used.ok()) << used.status().ToString();
  ASSERT_EQ(used->size(), 2u);
  EXPECT_EQ((*used)[0].id, b);
  EXPECT_EQ((*used)[1].id, a);
}

TEST_P(BuildStoreConformance, ArtifactsAreIndexedPerBuild) {
  auto build = builds().CreateOneOffBuild("main", 0, {});
  ASSERT_TRUE(builds().RecordArtifact(build->id, "bin", "sha256:01", 42).ok());
  EXPECT_EQ(builds().RecordArtifact(build->id, "bin", "sha256:02", 1).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(builds().RecordArtifact(9999, "x", "sha256:03", 1).status().code(),
            StatusCode::kNotFound);
  auto list = builds().ListArtifacts(build->id);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].size, 42);
  EXPECT_EQ((*list)[0].digest, "sha256:01");
  EXPECT_TRUE(*builds().IsDigestReferenced("sha256:01"));
  EXPECT_FALSE(*builds().IsDigestReferenced("sha256:03"));
}

INSTANTIATE_TEST_SUITE_P(Store, BuildStoreConformance, ::testing::ValuesIn(StoreImplementations()),
                         ImplementationName);

}  // namespace
}  // namespace baton::runner::conformance
