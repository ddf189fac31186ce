// Commands (commands.h): each writes the store and the scheduler's running state together, and
// reports what another node must hear. Real SQLite store, scripted worker, no sleeps.
#include "baton/runner/commands.h"

#include <gtest/gtest.h>

#include <mutex>

#include "scheduler_harness.h"

namespace baton::runner {
namespace {

using testing::ResourceScript;

constexpr const char* kOneJob = R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: a
  plan:
  - {get: r, trigger: true}
  - task: t
    config: {platform: linux, run: {path: ok}}
)";

class SchedulerCommandsTest : public SchedulerHarness {
 protected:
  void SetUp() override {
    OpenStore(RealClock());
    ResourceScript script;
    script.handler = [this](const workers::ResourceRun& run, workers::OutputSink&) {
      workers::ResourceResult r;
      if (run.action == workers::ResourceRun::Action::kCheck) {
        std::lock_guard lock(mu_);
        for (const auto& v : versions_) r.versions.push_back(Json{{"version", v}});
      } else {
        r.version = run.version;
      }
      return r;
    };
    worker_.OnResource("mock", script);
  }

  std::unique_ptr<Scheduler> MakeScheduler(bool serving) {
    SchedulerOptions options = BaseOptions();
    options.periodic_checks = serving;
    options.on_pipeline_change = [this](const PipelineChange& c) { changes_.push_back(c); };
    return std::make_unique<Scheduler>(io_, SchedulerStores{*store_, *store_, *store_}, worker_,
                                       options);
  }

  void AddVersion(const std::string& v) {
    std::lock_guard lock(mu_);
    versions_.push_back(v);
  }

  Result<CommandReply> Apply(Scheduler& scheduler, Command command) {
    std::optional<Result<CommandReply>> out;
    scheduler.Apply(std::move(command), [&](Result<CommandReply> r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value()) << "Apply must answer before it returns";
    return out ? std::move(*out) : Internal("no answer");
  }

  commands::SetPipeline SetCommand(const std::string& yaml) {
    auto load = pipelines::LoadPipeline(yaml, pipelines::LoadOptions{});
    EXPECT_TRUE(load.ok()) << pipelines::RenderAll(load.diagnostics, yaml);
    pipelines::Vars vars;
    commands::SetPipeline command;
    command.update = MakePipelineUpdate("main", "p", yaml, vars, *load.config);
    command.update.paused_when_created = false;
    command.config = std::make_shared<const pipelines::PipelineConfig>(std::move(*load.config));
    return command;
  }

  std::vector<Build> Builds(std::vector<BuildStatus> statuses = {}) {
    BuildQuery q;
    q.statuses = std::move(statuses);
    q.limit = 100;
    auto builds = store_->ListBuilds(q);
    return builds.ok() ? *builds : std::vector<Build>{};
  }

  std::mutex mu_;
  std::vector<std::string> versions_;
  std::vector<PipelineChange> changes_;
};

TEST_F(SchedulerCommandsTest, SetPipelineRunsTheConfigItCarriesWithoutParsingTheYamlAgain) {
  AddVersion("v1");
  scheduler_ = MakeScheduler(/*serving=*/true);
  auto command = SetCommand(kOneJob);
  // What the store keeps as the YAML does not parse: a scheduler that re-read and re-parsed the
  // saved config (as ActivatePipeline does) would refuse to run it.
  command.update.yaml = "jobs: [unclosed";
  auto reply = Apply(*scheduler_, command);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_TRUE(reply->pipeline.has_value());
  EXPECT_EQ(reply->pipeline->config_version, 1);
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].kind, PipelineChange::Kind::kConfig);
  EXPECT_EQ(changes_[0].pipeline_id, reply->pipeline->id);
  EXPECT_EQ(changes_[0].config_version, 1);
}

TEST_F(SchedulerCommandsTest, UnpausingKeepsTheTriggersQueuedWhilePaused) {
  scheduler_ = MakeScheduler(/*serving=*/false);
  AddVersion("v1");
  auto set = Apply(*scheduler_, SetCommand(kOneJob));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  Id id = set->pipeline->id;
  bool checked = false;
  scheduler_->CheckResource(id, "r", [&](Result<int> n) { checked = n.ok(); });
  ASSERT_TRUE(RunUntil([&] { return checked; }));

  auto paused = Apply(*scheduler_, commands::PausePipeline{id, true});
  ASSERT_TRUE(paused.ok()) << paused.status().ToString();
  EXPECT_TRUE(paused->pipeline->paused);
  auto queued = Trigger(*scheduler_, id, "a");
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Builds({BuildStatus::kPending}).size(), 1u) << "a paused pipeline starts nothing";

  auto unpaused = Apply(*scheduler_, commands::PausePipeline{id, false});
  ASSERT_TRUE(unpaused.ok()) << unpaused.status().ToString();
  EXPECT_FALSE(unpaused->pipeline->paused);
  // The build queued while paused is the one that runs (reloading the pipeline dropped it).
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  EXPECT_EQ(Builds({BuildStatus::kSucceeded})[0].id, queued->id);
  ASSERT_EQ(changes_.size(), 3u);
  EXPECT_EQ(changes_[1].kind, PipelineChange::Kind::kPaused);
}

TEST_F(SchedulerCommandsTest, PinningAVersionBuildsWithItAndTheStoreKeepsThePin) {
  AddVersion("v1");
  AddVersion("v2");
  scheduler_ = MakeScheduler(/*serving=*/true);
  auto set = Apply(*scheduler_, SetCommand(kOneJob));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  Id id = set->pipeline->id;
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  auto resource = store_->GetResource(id, "r");
  ASSERT_TRUE(resource.ok());
  auto v1 = store_->FindResourceVersion(resource->id, Json{{"version", "v1"}});
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();

  auto pinned = Apply(*scheduler_, commands::PinVersion{id, resource->id, v1->id, "v2 is broken"});
  ASSERT_TRUE(pinned.ok()) << pinned.status().ToString();
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 2; }));
  auto inputs = store_->ListBuildInputs(Builds({BuildStatus::kSucceeded}).front().id);
  ASSERT_TRUE(inputs.ok());
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].version, (Json{{"version", "v1"}}));
  auto stored = store_->GetResource(id, "r");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->pinned_version_id, v1->id);
  EXPECT_EQ(stored->pin_comment, "v2 is broken");
}

TEST_F(SchedulerCommandsTest, DestroyStopsThePipelineAndRemovesItFromTheStore) {
  scheduler_ = MakeScheduler(/*serving=*/false);
  auto set = Apply(*scheduler_, SetCommand(kOneJob));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(scheduler_->ActiveResources().size(), 1u);
  auto destroyed = Apply(*scheduler_, commands::DestroyPipeline{set->pipeline->id, "main", "p"});
  ASSERT_TRUE(destroyed.ok()) << destroyed.status().ToString();
  EXPECT_TRUE(scheduler_->ActiveResources().empty());
  EXPECT_EQ(store_->GetPipeline("main", "p").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(changes_.back().kind, PipelineChange::Kind::kDestroyed);
}

TEST_F(SchedulerCommandsTest, ACommandOnAMissingPipelineSaysWhichAndChangesNothing) {
  scheduler_ = MakeScheduler(/*serving=*/false);
  auto reply = Apply(*scheduler_, commands::PausePipeline{4242, true});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kNotFound) << reply.status().ToString();
  EXPECT_TRUE(changes_.empty());
}

// Two schedulers on one store stand for two web nodes: what node A's command changed reaches
// node B's running state through the change A reports (PipelineChange -> commands::Refresh).
TEST_F(SchedulerCommandsTest, RefreshAppliesAnotherNodesChangeToThisNodesRunningState) {
  AddVersion("v1");
  scheduler_ = MakeScheduler(/*serving=*/false);  // node A
  auto set = Apply(*scheduler_, SetCommand(kOneJob));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  Id id = set->pipeline->id;
  auto node_b = MakeScheduler(/*serving=*/false);
  ASSERT_TRUE(node_b->ActivatePipeline(id).ok());
  bool checked = false;
  node_b->CheckResource(id, "r", [&](Result<int> n) { checked = n.ok(); });
  ASSERT_TRUE(RunUntil([&] { return checked; }));

  ASSERT_TRUE(Apply(*scheduler_, commands::PausePipeline{id, true}).ok());
  // The change travels as JSON (a notification's payload).
  auto heard = PipelineChangeFromJson(ToJson(changes_.back()));
  ASSERT_TRUE(heard.ok()) << heard.status().ToString();
  ASSERT_TRUE(Apply(*node_b, commands::Refresh{*heard}).ok());
  auto queued = Trigger(*node_b, id, "a");
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Builds({BuildStatus::kPending}).size(), 1u) << "node B knows the pipeline is paused";

  ASSERT_TRUE(Apply(*scheduler_, commands::PausePipeline{id, false}).ok());
  ASSERT_TRUE(Apply(*node_b, commands::Refresh{changes_.back()}).ok());
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  EXPECT_EQ(Builds({BuildStatus::kSucceeded})[0].id, queued->id);
  EXPECT_TRUE(worker_.WaitIdle());
  io_.run_for(std::chrono::milliseconds(20));
  node_b.reset();
}

TEST(PipelineChange, ReadsBackWhatItWritesAndRefusesWhatItDoesNotKnow) {
  PipelineChange change{PipelineChange::Kind::kPin, 7, 0};
  auto back = PipelineChangeFromJson(ToJson(change));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->kind, PipelineChange::Kind::kPin);
  EXPECT_EQ(back->pipeline_id, 7);
  auto unknown = PipelineChangeFromJson(Json{{"kind", "renamed"}, {"pipeline_id", 7}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown pipeline change kind `renamed`"),
            std::string::npos)
      << unknown.status().ToString();
  EXPECT_FALSE(PipelineChangeFromJson(Json::array()).ok());
}

}  // namespace
}  // namespace baton::runner
