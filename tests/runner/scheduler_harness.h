// SchedulerHarness: what every Scheduler test fixture shares — a real SqliteStore in a temp dir,
// a ScriptedWorker, the io_context the scheduler runs on (driven by the test thread), pipelines
// set from YAML, and waiting on a condition with a deadline instead of sleeping.
#pragma once

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "baton/common/clock.h"
#include "baton/pipelines/loader.h"
#include "baton/runner/pipeline_update.h"
#include "baton/runner/scheduler.h"
#include "baton/runner/sqlite_store.h"
#include "fakes/scripted_worker.h"
#include "fakes/test_env.h"

namespace baton::runner {

class SchedulerHarness : public ::testing::Test {
 protected:
  void OpenStore(const Clock& clock) {
    auto store = SqliteStore::OpenDataDir(dir_.path() / "data", clock);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  void TearDown() override {
    // Let background checks finish before the fixture's members go away.
    EXPECT_TRUE(worker_.WaitIdle());
    io_.run_for(std::chrono::milliseconds(20));
    scheduler_.reset();
    store_.reset();  // before a derived fixture's clock goes
  }

  // Options every test starts from: the data dir of the store.
  SchedulerOptions BaseOptions() const {
    SchedulerOptions options;
    options.data_dir = (dir_.path() / "data").string();
    return options;
  }

  // Saves `yaml` as pipeline "p" of team "main", unpaused; returns its id.
  Id SetPipeline(const std::string& yaml) {
    auto load = pipelines::LoadPipeline(yaml, pipelines::LoadOptions{});
    EXPECT_TRUE(load.ok()) << pipelines::RenderAll(load.diagnostics, yaml);
    pipelines::Vars vars;
    auto update = MakePipelineUpdate("main", "p", yaml, vars, *load.config);
    update.paused_when_created = false;
    auto saved = store_->SetPipeline(update);
    EXPECT_TRUE(saved.ok()) << saved.status().ToString();
    return saved.ok() ? saved->id : 0;
  }

  // A command's answer (Apply answers before it returns).
  static Result<CommandReply> ApplyNow(Scheduler& scheduler, Command command) {
    std::optional<Result<CommandReply>> out;
    scheduler.Apply(std::move(command), [&](Result<CommandReply> r) { out = std::move(r); });
    if (!out) return Internal("Apply returned without an answer");
    return std::move(*out);
  }
  // commands::TriggerJob / RerunBuild, answered with the build.
  static Result<Build> Trigger(Scheduler& scheduler, Id pipeline_id, const std::string& job) {
    return BuildOf(ApplyNow(scheduler, commands::TriggerJob{pipeline_id, job}));
  }
  static Result<Build> Rerun(Scheduler& scheduler, Id build_id) {
    return BuildOf(ApplyNow(scheduler, commands::RerunBuild{build_id}));
  }
  static Result<Build> BuildOf(const Result<CommandReply>& reply) {
    if (!reply.ok()) return reply.status();
    if (!reply->build.has_value()) return Internal("the command answered without a build");
    return reply->build.value();
  }

  // Runs the loop until `done()` or 10 s; false on the deadline.
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds step = std::chrono::milliseconds(2)) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(step);
    }
    return true;
  }

  baton::testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  baton::testing::ScriptedWorker worker_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace baton::runner
