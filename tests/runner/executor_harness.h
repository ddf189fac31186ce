// Test helper for BuildExecutor: an observer that records what it is told, and a runner that
// drives one build to its end on a real io_context.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "baton/runner/build_executor.h"
#include "fakes/scripted_worker.h"
#include "fakes/test_env.h"

namespace baton::runner::testing {

class RecordingObserver : public BuildObserver {
 public:
  void OnStatus(BuildStatus status, SystemTime) override {
    events.push_back(std::string("status ") + ToString(status));
  }
  void OnStepStarted(const StepInfo& step, SystemTime) override {
    events.push_back("started " + step.name);
    steps.push_back(step);
  }
  void OnStepFinished(const StepFinished& f, SystemTime) override {
    events.push_back("finished " + f.step.name + " " + ToString(f.status));
    messages[f.step.name] = f.message;
    steps.push_back(f.step);
  }
  void OnLog(const StepInfo& step, workers::OutputStream stream, SystemTime,
             std::string_view line) override {
    logs.push_back(step.name + " " + workers::ToString(stream) + ": " + std::string(line));
  }
  // Batches are recorded by size and their entries' texts (a line or a run of lines) in
  // `log_runs`; their lines go to `logs` like OnLog's.
  void OnLogs(const StepInfo& step, std::span<LogLine> lines) override {
    log_batches.push_back(lines.size());
    for (const LogLine& run : lines) log_runs.emplace_back(run.text);
    BuildObserver::OnLogs(step, lines);
  }
  void OnVersion(const StepInfo& step, const std::string& resource, const Json& version,
                 const std::vector<MetadataField>&) override {
    versions.push_back(resource + " " + version.dump());
    steps.push_back(step);
  }
  void OnSecrets(const std::vector<std::string>& values) override {
    secrets.insert(secrets.end(), values.begin(), values.end());
  }
  std::vector<std::string> events, logs, versions, secrets;
  std::vector<size_t> log_batches;    // the size of each OnLogs batch
  std::vector<std::string> log_runs;  // each entry of each OnLogs batch
  std::map<std::string, std::string> messages;
  std::vector<StepInfo> steps;  // as OnStepStarted, OnStepFinished and OnVersion saw them
};

// Runs one build to the end on this thread's io_context (deadline 10 s).
class BuildRun {
 public:
  BuildRun(BuildPlan plan, baton::testing::ScriptedWorker& worker,
           BuildExecutorOptions options = {}) {
    if (options.build_root.empty()) options.build_root = (root_.path() / "build").string();
    build_root_ = options.build_root;
    options.metadata = {"42", "7", "unit", "ci", "main", "http://baton.local"};
    options.on_finished = [this](BuildStatus s) {
      final_ = s;
      guard_.reset();
    };
    executor_ =
        std::make_unique<BuildExecutor>(io_, worker, observer, std::move(plan), std::move(options));
  }
  // Runs until the build ends; `during` runs on another thread meanwhile (e.g. to abort).
  BuildStatus Go(std::function<void(BuildExecutor&)> during = nullptr) {
    executor_->Start();
    std::thread helper;
    if (during) helper = std::thread([this, during] { during(*executor_); });
    io_.run_for(std::chrono::seconds(10));
    if (helper.joinable()) helper.join();
    EXPECT_TRUE(final_.has_value()) << "the build did not finish in time";
    return final_.value_or(BuildStatus::kStarted);
  }
  std::filesystem::path build_root() const { return build_root_; }
  BuildExecutor& executor() { return *executor_; }
  RecordingObserver observer;

 private:
  baton::testing::TempDir root_;
  std::filesystem::path build_root_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<BuildExecutor> executor_;
  std::optional<BuildStatus> final_;
};

}  // namespace baton::runner::testing
