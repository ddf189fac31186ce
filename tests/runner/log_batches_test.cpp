// A step's output goes from the worker to the observers a batch at a time: the executor hands a
// whole OnLines batch to OnLogs, the lines of one stream and time joined as one run (one `log`
// event), BuildRecorder writes it with one store append and forwards it as one batch, and the
// lines keep their order, streams and times (issue 16, W4).
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/common/clock.h"
#include "baton/runner/build_recorder.h"
#include "baton/runner/sqlite_store.h"
#include "fakes/scripted_worker.h"
#include "fakes/test_env.h"
#include "runner/engine_harness.h"
#include "runner/executor_harness.h"

namespace baton::runner {
namespace {

using baton::testing::ResourceScript;
using baton::testing::ScriptedWorker;
using baton::testing::TaskScript;
using baton::testing::TempDir;
using testing::BuildRun;
using ::testing::ElementsAre;
using testing::PlanFromYaml;

// A job with one task, `say`, running `echo`.
constexpr const char* kSay = R"Y(
jobs:
- name: job
  plan:
  - task: say
    config: {platform: linux, run: {path: echo}}
)Y";

// The worker's `echo` task hands its sink what `emit` writes, at one time, and exits 0.
void ScriptSay(ScriptedWorker& worker, std::function<void(workers::OutputSink&, SystemTime)> emit) {
  TaskScript script;
  script.handler = [emit = std::move(emit)](const workers::TaskRun&, workers::OutputSink& sink) {
    emit(sink, RealClock().Now());
    return baton::testing::ExitResult(0);
  };
  worker.OnTask("echo", script);
}

TEST(LogBatches, TheExecutorHandsAWorkerBatchToTheObserverAtOnce) {
  ScriptedWorker worker;
  ScriptSay(worker, [](workers::OutputSink& sink, SystemTime now) {
    std::vector<workers::OutputLine> first = {{now, workers::OutputStream::kStdout, "one"},
                                              {now, workers::OutputStream::kStderr, "two"},
                                              {now, workers::OutputStream::kStdout, "three"}};
    sink.OnLines(first);
    std::vector<workers::OutputLine> second = {{now, workers::OutputStream::kStdout, "four"}};
    sink.OnLines(second);
  });
  BuildRun run(PlanFromYaml(kSay), worker);
  EXPECT_EQ(run.Go(), BuildStatus::kSucceeded);
  EXPECT_THAT(run.observer.logs,
              ElementsAre("say system: initializing", "say stdout: one", "say stderr: two",
                          "say stdout: three", "say stdout: four"));
  EXPECT_THAT(run.observer.log_batches, ElementsAre(3u, 1u));
}

TEST(LogBatches, LinesOfOneStreamAndTimeTravelAsOneRun) {
  ScriptedWorker worker;
  ScriptSay(worker, [](workers::OutputSink& sink, SystemTime now) {
    const SystemTime later = now + std::chrono::milliseconds(5);
    std::vector<workers::OutputLine> batch = {{now, workers::OutputStream::kStdout, "one"},
                                              {now, workers::OutputStream::kStdout, ""},
                                              {now, workers::OutputStream::kStdout, "three"},
                                              {now, workers::OutputStream::kStderr, "err"},
                                              {later, workers::OutputStream::kStderr, "later"}};
    sink.OnLines(batch);
  });
  BuildRun run(PlanFromYaml(kSay), worker);
  EXPECT_EQ(run.Go(), BuildStatus::kSucceeded);
  EXPECT_THAT(run.observer.log_runs, ElementsAre("one\n\nthree", "err", "later"));
  EXPECT_THAT(run.observer.log_batches, ElementsAre(3u));
  EXPECT_THAT(run.observer.logs, ElementsAre("say system: initializing", "say stdout: one",
                                             "say stdout: ", "say stdout: three", "say stderr: err",
                                             "say stderr: later"));
}

// Lines handed as views into one read buffer (as LineSplitter does) are copied a stretch at a
// time; what breaks a stretch (a line from elsewhere, a separator other than '\n', another
// stream) still ends up in the run as its own line.
TEST(LogBatches, LinesBackToBackInOneBufferMakeTheSameRunAsSeparateLines) {
  ScriptedWorker worker;
  const std::string read = "a\n\nbc\nd;e\nf\ng";
  const std::string elsewhere = "X";
  ScriptSay(worker, [&](workers::OutputSink& sink, SystemTime now) {
    std::string_view buf = read;
    auto out = [&](std::string_view text) {
      return workers::OutputLine{now, workers::OutputStream::kStdout, text};
    };
    std::vector<workers::OutputLine> batch = {
        out(buf.substr(0, 1)),
        out(buf.substr(2, 0)),
        out(buf.substr(3, 2)),
        out(buf.substr(6, 1)),
        out(buf.substr(8, 1)),
        out(elsewhere),
        out(buf.substr(10, 1)),
        out(buf.substr(12, 1)),
        {now, workers::OutputStream::kStderr, buf.substr(12, 1)}};
    sink.OnLines(batch);
  });
  BuildRun run(PlanFromYaml(kSay), worker);
  EXPECT_EQ(run.Go(), BuildStatus::kSucceeded);
  EXPECT_THAT(run.observer.log_runs, ElementsAre("a\n\nbc\nd\ne\nX\nf\ng", "g"));
}

TEST(LogBatches, ARunStopsBeforeItWouldPassOnePipeRead) {
  ScriptedWorker worker;
  const std::string long_line(40'000, 'x');
  ScriptSay(worker, [&](workers::OutputSink& sink, SystemTime now) {
    std::vector<workers::OutputLine> batch(3, {now, workers::OutputStream::kStdout, long_line});
    sink.OnLines(batch);
  });
  BuildRun run(PlanFromYaml(kSay), worker);
  EXPECT_EQ(run.Go(), BuildStatus::kSucceeded);
  ASSERT_EQ(run.observer.log_runs.size(), 3u);  // two would pass 64 KiB
  for (const auto& r : run.observer.log_runs) EXPECT_EQ(r, long_line);
}

// load_var's secret (redacted once a step uses it), then a task whose output shows it inside a run,
// at a run's edges and in a line the worker read in two pieces (its LineSplitter hands that line
// over whole).
TEST(LogBatches, EveryLineOfARunIsRedacted) {
  ScriptedWorker worker;
  ResourceScript data;
  data.handler = [](const workers::ResourceRun& r, workers::OutputSink&) {
    workers::ResourceResult result;
    if (r.action == workers::ResourceRun::Action::kCheck) {
      result.versions = {Json{{"v", "1"}}};
      return result;
    }
    baton::testing::WriteFile(std::filesystem::path(r.dir) / "secret", "hunter2\n");
    result.version = r.version;
    return result;
  };
  worker.OnResource("mock", data);
  ScriptSay(worker, [](workers::OutputSink& sink, SystemTime now) {
    std::vector<workers::OutputLine> batch = {
        {now, workers::OutputStream::kStdout, "hunter2 first"},
        {now, workers::OutputStream::kStdout, "mid hunter2 x"},
        {now, workers::OutputStream::kStdout, "last hunter2"}};
    sink.OnLines(batch);
    // A line the task wrote as "before hun" and "ter2 after\n" (two reads) reaches the sink
    // whole, alone, before the rest of the second read (LineSplitter::Feed; the worker's test
    // WorkerFixture.ALineWrittenInTwoReadsArrivesWhole).
    sink.OnLine(now, workers::OutputStream::kStdout, "before hunter2 after");
    std::vector<workers::OutputLine> rest = {{now, workers::OutputStream::kStdout, "hunter2"},
                                             {now, workers::OutputStream::kStdout, "next hunter2"}};
    sink.OnLines(rest);
  });
  BuildRun run(PlanFromYaml(R"Y(
resources:
- name: data
  type: mock
  source: {}
jobs:
- name: job
  plan:
  - get: data
  - load_var: secret
    file: data/secret
  - task: say
    config: {platform: linux, run: {path: echo}}
    params: {SECRET: ((.:secret))}
)Y"),
               worker);
  EXPECT_EQ(run.Go(), BuildStatus::kSucceeded);
  EXPECT_THAT(
      run.observer.log_runs,
      ::testing::IsSupersetOf({"((redacted)) first\nmid ((redacted)) x\nlast ((redacted))",
                               "before ((redacted)) after", "((redacted))\nnext ((redacted))"}));
  for (const auto& r : run.observer.log_runs) EXPECT_EQ(r.find("hunter2"), std::string::npos) << r;
}

TEST(LogBatches, TheRecorderAppendsABatchToTheStoreAndForwardsItWhole) {
  TempDir dir;
  auto store = SqliteStore::Open(dir / "baton.db", RealClock());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto build = (*store)->CreateOneOffBuild("main", 0, Json::object());
  ASSERT_TRUE(build.ok()) << build.status().ToString();
  testing::RecordingObserver forward;
  BuildRecorder::Options options;
  options.forward = &forward;
  BuildRecorder recorder({**store, **store, **store}, *build, options);

  StepInfo step;
  step.id = "task:say";
  step.name = "say";
  step.type = "task";
  const SystemTime t = FromUnixMillis(1'700'000'000'123);
  std::vector<std::string> texts = {"alpha", "beta", "gamma"};
  std::vector<LogLine> lines = {{workers::OutputStream::kStdout, t, texts[0]},
                                {workers::OutputStream::kStderr, t, texts[1]},
                                {workers::OutputStream::kStdout, t, texts[2]}};
  recorder.OnLogs(step, std::span<LogLine>(lines));
  ASSERT_TRUE((*store)->Flush().ok());

  auto events = (*store)->ReadEvents(build->id, 0, 10);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*events)[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*events)[i].type, "log");
    EXPECT_EQ((*events)[i].origin, "task:say");
    EXPECT_EQ((*events)[i].payload, texts[i]);
    EXPECT_EQ(ToUnixMillis((*events)[i].time), 1'700'000'000'123);
  }
  EXPECT_EQ((*events)[1].stream, "stderr");
  EXPECT_THAT(forward.log_batches, ElementsAre(3u));
  EXPECT_THAT(forward.logs,
              ElementsAre("say stdout: alpha", "say stderr: beta", "say stdout: gamma"));
}

// An EventLog that keeps what AppendLogLines is given.
class KeptLogLines : public EventLog {
 public:
  Result<SeqRange> AppendEvents(Id, std::vector<BuildEvent>) override { return SeqRange{}; }
  Result<SeqRange> AppendLogLines(Id, LogLines lines) override {
    kept.push_back(std::move(lines));
    return SeqRange{};
  }
  Status Flush() override { return Status::Ok(); }
  Result<std::vector<BuildEvent>> ReadEvents(Id, int64_t, int, size_t) override {
    return std::vector<BuildEvent>{};
  }
  std::vector<LogLines> kept;
};

// The run's text the executor made is the one the store queues (moved, not copied: W4's 20 MB
// were copied once more here), and the forward still sees every line, before the store has it.
TEST(LogBatches, TheRecorderHandsTheStoreTheRunsOwnTextAfterForwardingIt) {
  TempDir dir;
  auto store = SqliteStore::Open(dir / "baton.db", RealClock());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto build = (*store)->CreateOneOffBuild("main", 0, Json::object());
  ASSERT_TRUE(build.ok()) << build.status().ToString();
  KeptLogLines events;
  testing::RecordingObserver forward;
  BuildRecorder::Options options;
  options.forward = &forward;
  BuildRecorder recorder({**store, events, **store}, *build, options);

  StepInfo step;
  step.id = "task:say";
  step.name = "say";
  const SystemTime t = RealClock().Now();
  std::vector<LogLine> lines = {{workers::OutputStream::kStdout, t, std::string(5000, 'a')},
                                {workers::OutputStream::kStdout, t, std::string(3000, 'b')},
                                {workers::OutputStream::kStderr, t, "short\nlines"}};
  const char* first = lines[0].text.data();
  const char* second = lines[1].text.data();
  recorder.OnLogs(step, std::span<LogLine>(lines));

  ASSERT_EQ(events.kept.size(), 2u);  // stdout's two runs, then stderr's
  ASSERT_EQ(events.kept[0].size(), 2u);
  EXPECT_EQ(events.kept[0].line(0).data(), first);
  EXPECT_EQ(events.kept[0].line(1).data(), second);
  EXPECT_EQ(events.kept[0].line(1), std::string(3000, 'b'));
  EXPECT_EQ(events.kept[1].stream, "stderr");
  EXPECT_EQ(events.kept[1].line(0), "short\nlines");
  EXPECT_EQ(forward.log_runs, (std::vector<std::string>{std::string(5000, 'a'),
                                                        std::string(3000, 'b'), "short\nlines"}));
}

}  // namespace
}  // namespace baton::runner
