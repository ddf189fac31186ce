// The build engine's control flow: in_parallel, try, across, hooks, attempts, timeout, abort.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/runner/build_engine.h"
#include "runner/engine_harness.h"

namespace baton::runner {
namespace {

using ::testing::ElementsAre;
using testing::EngineHarness;
using ::testing::IsEmpty;
using testing::PlanFromYaml;
using ::testing::UnorderedElementsAre;

std::string Task(const std::string& name, const std::string& indent = "  ") {
  return indent + "- task: " + name + "\n" + indent +
         "  config: {platform: linux, run: {path: " + name + "}}\n";
}

BuildPlan Parallel(const std::string& options) {
  return PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - in_parallel:
)Y" + options + "      steps:\n" +
                      Task("a", "      ") + Task("b", "      ") + Task("c", "      ") +
                      Task("after"));
}

TEST(InParallel, StartsEveryStepAtOnceAndWaitsForAll) {
  EngineHarness h(Parallel(""));
  h.Start();
  EXPECT_THAT(h.Running(), ElementsAre("a", "b", "c"));
  h.Succeed("b");
  h.Succeed("a");
  EXPECT_THAT(h.Running(), ElementsAre("c"));
  h.Succeed("c");
  EXPECT_THAT(h.Running(), ElementsAre("after"));
}

TEST(InParallel, LimitRunsAtMostThatManyAtOnce) {
  EngineHarness h(Parallel("      limit: 2\n"));
  h.Start();
  EXPECT_THAT(h.Running(), ElementsAre("a", "b"));
  h.Succeed("b");
  EXPECT_THAT(h.Running(), ElementsAre("a", "c"));
}

TEST(InParallel, WithoutFailFastAFailureLetsTheOthersFinishThenFails) {
  EngineHarness h(Parallel(""));
  h.Start();
  h.Fail("a");
  EXPECT_THAT(h.cancelled(), IsEmpty());
  h.Succeed("b");
  h.Succeed("c");
  EXPECT_EQ(h.status(), BuildStatus::kFailed);
  EXPECT_THAT(h.TasksRun(), ElementsAre("a", "b", "c"));
}

TEST(InParallel, FailFastCancelsTheRunningSiblingsAndTheBuildFails) {
  EngineHarness h(Parallel("      fail_fast: true\n      limit: 2\n"));
  h.Start();
  h.Fail("a");
  EXPECT_EQ(h.cancelled().size(), 1u);  // b; c never starts
  h.ReportCancelled();
  EXPECT_EQ(h.status(), BuildStatus::kFailed);
  EXPECT_THAT(h.TasksRun(), ElementsAre("a", "b"));
  EXPECT_EQ(h.LastFinished("b").status, BuildStatus::kAborted);
}

TEST(InParallel, AnErrorOutranksAFailure) {
  EngineHarness h(Parallel(""));
  h.Start();
  h.Fail("a");
  h.Error("b", "worker vanished");
  h.Succeed("c");
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
}

BuildPlan TryThenTask() {
  return PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - try:
      task: risky
      config: {platform: linux, run: {path: exit}}
)Y" + Task("passing-task"));
}

TEST(Try, MasksAFailureAndTheBuildGoesOn) {
  EngineHarness h(TryThenTask());
  h.Start();
  h.Fail("risky");
  EXPECT_THAT(h.Running(), ElementsAre("passing-task"));
  h.Succeed("passing-task");
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
}

TEST(Try, MasksAnErrorToo) {
  EngineHarness h(TryThenTask());
  h.Start();
  h.Error("risky");
  h.Succeed("passing-task");
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
}

TEST(Try, DoesNotMaskAnAbort) {
  EngineHarness h(TryThenTask());
  h.Start();
  h.Abort();
  h.ReportCancelled();
  EXPECT_EQ(h.status(), BuildStatus::kAborted);
  EXPECT_THAT(h.TasksRun(), ElementsAre("risky"));
}

BuildPlan AcrossPlan(const std::string& vars, const std::string& modifiers = "") {
  return PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - across:
)Y" + vars + modifiers +
                      R"Y(
    task: print
    config:
      platform: linux
      run: {path: echo, args: ["running across ((.:static)) ((.:dynamic))"]}
)Y");
}

std::vector<std::string> Args(const EngineHarness& h) {
  std::vector<std::string> out;
  for (const auto& t : h.tasks()) out.push_back(t.config.run.args.at(0));
  return out;
}

TEST(Across, RunsEveryCombinationOneAtATimeInOrder) {
  EngineHarness h(AcrossPlan(R"Y(
    - var: static
      values: [static1, static2]
    - var: dynamic
      values: [dynamic1, 4])Y"));
  h.Start();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(h.Running().size(), 1u) << h.Log();
    h.Succeed("print");
  }
  EXPECT_THAT(Args(h), ElementsAre("running across static1 dynamic1", "running across static1 4",
                                   "running across static2 dynamic1", "running across static2 4"));
  EXPECT_EQ(h.tasks()[3].step.across.at("dynamic"), Json(4));
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
}

TEST(Across, MaxInFlightAllRunsEveryValueAtOnce) {
  EngineHarness h(AcrossPlan(R"Y(
    - var: static
      values: [s]
    - var: dynamic
      values: [x, y, z]
      max_in_flight: all)Y"));
  h.Start();
  EXPECT_EQ(h.Running().size(), 3u);
}

TEST(Across, ValuesCanComeFromALoadVar) {
  EngineHarness h(PlanFromYaml(R"Y(
resources:
- name: mock
  type: mock
  source: {}
jobs:
- name: job
  plan:
  - get: mock
  - load_var: dynamic
    file: mock/data.yml
  - across:
    - var: dynamic
      values: ((.:dynamic))
    put: mock
    params: {version: "v_((.:dynamic))"}
)Y"));
  h.Start();
  h.Succeed("mock");
  h.Content("dynamic", "[dynamic1, 4]\n");
  ASSERT_EQ(h.puts().size(), 1u);
  EXPECT_EQ(h.puts()[0].params, Json({{"version", "v_dynamic1"}}));
  h.Version("mock", Json{{"version", "v_dynamic1"}});
  h.Succeed("mock");
  ASSERT_EQ(h.puts().size(), 2u);
  EXPECT_EQ(h.puts()[1].params, Json({{"version", "v_4"}}));
}

TEST(Across, AFailureStillRunsTheRemainingValuesThenFails) {
  EngineHarness h(
      AcrossPlan("    - var: static\n      values: [a, b]\n    - var: dynamic\n"
                 "      values: [c]"));
  h.Start();
  h.Fail("print");
  h.Succeed("print");
  EXPECT_EQ(h.tasks().size(), 2u);
  EXPECT_EQ(h.status(), BuildStatus::kFailed);
}

TEST(Across, FailFastStopsTheRemainingValues) {
  EngineHarness h(AcrossPlan(R"Y(
    - var: static
      values: [a]
    - var: dynamic
      values: [x, y, z]
      max_in_flight: 2
      fail_fast: true)Y"));
  h.Start();
  EXPECT_EQ(h.Running().size(), 2u);
  h.Fail("print");
  EXPECT_EQ(h.cancelled().size(), 1u);
  h.ReportCancelled();
  EXPECT_EQ(h.tasks().size(), 2u);
  EXPECT_EQ(h.status(), BuildStatus::kFailed);
}

TEST(Across, ValuesThatAreNotAListErrorTheStep) {
  EngineHarness h(PlanFromYaml(R"Y(
resources:
- name: mock
  type: mock
  source: {}
jobs:
- name: job
  plan:
  - get: mock
  - load_var: v
    file: mock/value
  - across:
    - var: x
      values: ((.:v))
    task: t
    config: {platform: linux, run: {path: t}}
)Y"));
  h.Start();
  h.Succeed("mock");
  h.Content("v", "just-a-string");
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_TRUE(h.tasks().empty());
}

// A task `main` with every step hook, inside a job with every job hook (like hooks.yml).
BuildPlan Hooked(const std::string& main_extra = "") {
  std::string hooks;
  for (std::string h : {"on_success", "on_failure", "on_error", "on_abort", "ensure"}) {
    hooks += "    " + h + ": {task: step-" + h + ", config: {platform: linux, run: {path: x}}}\n";
  }
  std::string job_hooks;
  for (std::string h : {"on_success", "on_failure", "on_error", "on_abort", "ensure"}) {
    job_hooks += "  " + h + ": {task: job-" + h + ", config: {platform: linux, run: {path: x}}}\n";
  }
  return PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: main
    config: {platform: linux, run: {path: main}}
)Y" + main_extra + hooks +
                      job_hooks);
}

// Runs every hook task to success as it appears; returns the hooks in the order they ran.
std::vector<std::string> RunHooks(EngineHarness& h) {
  while (!h.Running().empty()) h.Succeed(h.Running().front());
  std::vector<std::string> names = h.TasksRun();
  names.erase(names.begin());
  return names;
}

TEST(Hooks, OnSuccessThenEnsureRunAfterASuccess) {
  EngineHarness h(Hooked());
  h.Start();
  h.Succeed("main");
  EXPECT_THAT(RunHooks(h),
              ElementsAre("step-on_success", "step-ensure", "job-on_success", "job-ensure"));
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
}

TEST(Hooks, OnFailureThenEnsureRunAfterAFailure) {
  EngineHarness h(Hooked());
  h.Start();
  h.Fail("main");
  EXPECT_THAT(RunHooks(h),
              ElementsAre("step-on_failure", "step-ensure", "job-on_failure", "job-ensure"));
  EXPECT_EQ(h.status(), BuildStatus::kFailed);
}

TEST(Hooks, OnErrorThenEnsureRunAfterAnError) {
  EngineHarness h(Hooked());
  h.Start();
  h.Error("main", "executable not found");
  EXPECT_THAT(RunHooks(h),
              ElementsAre("step-on_error", "step-ensure", "job-on_error", "job-ensure"));
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
}

TEST(Hooks, OnAbortThenEnsureRunAfterAnAbort) {
  EngineHarness h(Hooked());
  h.Start();
  h.Abort();
  EXPECT_EQ(h.cancelled().size(), 1u);
  h.ReportCancelled();
  EXPECT_THAT(RunHooks(h),
              ElementsAre("step-on_abort", "step-ensure", "job-on_abort", "job-ensure"));
  EXPECT_EQ(h.status(), BuildStatus::kAborted);
  EXPECT_EQ(h.LastFinished("main").status, BuildStatus::kAborted);
}

TEST(Hooks, HooksRunAfterAnAbortAreNotCancelledByIt) {
  EngineHarness h(Hooked());
  h.Start();
  h.Abort();
  h.ReportCancelled();
  h.Abort();  // a second abort changes nothing
  EXPECT_EQ(h.cancelled().size(), 1u);
  EXPECT_THAT(h.Running(), ElementsAre("step-on_abort"));
}

TEST(Hooks, AFailingEnsureFailsASucceededBuild) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: main
    config: {platform: linux, run: {path: main}}
    ensure: {task: cleanup, config: {platform: linux, run: {path: x}}}
)Y"));
  h.Start();
  h.Succeed("main");
  h.Fail("cleanup");
  EXPECT_EQ(h.status(), BuildStatus::kFailed);
}

TEST(Hooks, AFailingOnSuccessHookFailsTheStepAndTriggersOnFailure) {
  EngineHarness h(Hooked());
  h.Start();
  h.Succeed("main");
  h.Fail("step-on_success");
  EXPECT_THAT(RunHooks(h), ElementsAre("step-on_success", "step-on_failure", "step-ensure",
                                       "job-on_failure", "job-ensure"));
  EXPECT_EQ(h.status(), BuildStatus::kFailed);
}

TEST(Hooks, AnErroringOnFailureHookErrorsTheBuild) {
  EngineHarness h(Hooked());
  h.Start();
  h.Fail("main");
  h.Error("step-on_failure", "boom");
  RunHooks(h);
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
}

TEST(Hooks, StepsRunByAHookSayWhichHook) {
  EngineHarness h(Hooked());
  h.Start();
  h.Fail("main");
  EXPECT_EQ(h.tasks().back().step.hook, "on_failure");
  EXPECT_EQ(h.tasks().front().step.hook, "");
}

TEST(Attempts, RetriesAFailingStepUntilItSucceeds) {
  EngineHarness h(Hooked("    attempts: 5\n"));
  h.Start();
  h.Fail("main");
  h.Fail("main");
  h.Succeed("main");
  std::vector<int> attempts;
  for (const auto& t : h.tasks()) {
    if (t.step.name == "main") attempts.push_back(t.step.attempt);
  }
  EXPECT_THAT(attempts, ElementsAre(1, 2, 3));
  EXPECT_THAT(RunHooks(h), ElementsAre("main", "main", "step-on_success", "step-ensure",
                                       "job-on_success", "job-ensure"));
}

TEST(Attempts, RetriesErrorsTooAndReportsTheLastOutcome) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: main
    attempts: 2
    config: {platform: linux, run: {path: main}}
)Y"));
  h.Start();
  h.Error("main");
  h.Fail("main");
  EXPECT_EQ(h.tasks().size(), 2u);
  EXPECT_EQ(h.status(), BuildStatus::kFailed);
}

TEST(Attempts, HooksRunOnceAfterTheFinalAttempt) {
  EngineHarness h(Hooked("    attempts: 2\n"));
  h.Start();
  h.Fail("main");
  EXPECT_THAT(h.Running(), ElementsAre("main"));
  h.Fail("main");
  EXPECT_THAT(RunHooks(h), ElementsAre("main", "step-on_failure", "step-ensure", "job-on_failure",
                                       "job-ensure"));
}

TEST(Attempts, AnAbortIsNotRetried) {
  EngineHarness h(Hooked("    attempts: 3\n"));
  h.Start();
  h.Abort();
  h.ReportCancelled();
  RunHooks(h);
  EXPECT_EQ(h.status(), BuildStatus::kAborted);
  std::vector<std::string> ran = h.TasksRun();
  EXPECT_EQ(std::count(ran.begin(), ran.end(), "main"), 1);
}

BuildPlan Timed(const std::string& extra = "") {
  return PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: slow
    timeout: 5s
    config: {platform: linux, run: {path: sleep}}
)Y" + extra);
}

TEST(Timeout, StartsATimerWithTheStepsDuration) {
  EngineHarness h(Timed());
  h.Start();
  ASSERT_EQ(h.timers().size(), 1u);
  EXPECT_EQ(h.timer_durations().at(h.timers()[0]), std::chrono::seconds(5));
}

TEST(Timeout, AStepThatFinishesInTimeCancelsTheTimer) {
  EngineHarness h(Timed());
  h.Start();
  h.Succeed("slow");
  EXPECT_THAT(h.timers(), IsEmpty());
  EXPECT_THAT(h.Filter({"cancel-timer"}), ElementsAre("cancel-timer 1"));
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
}

TEST(Timeout, CancelsTheStepAndErrorsWithTimeoutExceeded) {
  EngineHarness h(Timed());
  h.Start();
  h.FireLatestTimer();
  EXPECT_EQ(h.cancelled().size(), 1u);
  EXPECT_EQ(h.status(), BuildStatus::kStarted);  // waits for the step to stop
  h.ReportCancelled();
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_EQ(h.LastFinished("slow").message, "timeout exceeded");
  EXPECT_THAT(h.logs(), ElementsAre("slow: timeout exceeded"));
}

TEST(Timeout, AppliesToEachAttempt) {
  EngineHarness h(Timed("    attempts: 2\n"));
  h.Start();
  h.FireLatestTimer();
  h.ReportCancelled();
  EXPECT_THAT(h.Running(), ElementsAre("slow"));
  EXPECT_EQ(h.timers().size(), 1u);
  h.Succeed("slow");
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
}

TEST(Timeout, TriggersTheOnErrorHookNotOnAbort) {
  EngineHarness h(
      Timed("    on_error: {task: err, config: {platform: linux, run: {path: x}}}\n"
            "    on_abort: {task: abort, config: {platform: linux, run: {path: x}}}\n"));
  h.Start();
  h.FireLatestTimer();
  h.ReportCancelled();
  EXPECT_THAT(h.Running(), ElementsAre("err"));
}

TEST(Timeout, CoversAWholeDoBlock) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - do:
)Y" + Task("one", "    ") + Task("two", "    ") +
                               "    timeout: 1m\n"));
  h.Start();
  h.Succeed("one");
  h.FireLatestTimer();
  h.ReportCancelled();
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_THAT(h.TasksRun(), ElementsAre("one", "two"));
}

TEST(Abort, CancelsEveryRunningActionAndEndsAborted) {
  EngineHarness h(Parallel(""));
  h.Start();
  h.Abort();
  EXPECT_EQ(h.cancelled().size(), 3u);
  EXPECT_EQ(h.status(), BuildStatus::kStarted);
  h.ReportCancelled();
  EXPECT_EQ(h.status(), BuildStatus::kAborted);
  EXPECT_THAT(h.TasksRun(), UnorderedElementsAre("a", "b", "c"));
  EXPECT_EQ(h.build_finished_count(), 1);
}

TEST(Abort, BeforeStartEndsTheBuildAtOnce) {
  EngineHarness h(Parallel(""));
  h.Abort();
  EXPECT_EQ(h.status(), BuildStatus::kAborted);
  EXPECT_THAT(h.actions(), ElementsAre("build-finished aborted"));
}

TEST(Abort, AnActionThatSucceedsAfterTheAbortStillCountsAsAborted) {
  EngineHarness h(Hooked());
  h.Start();
  h.Abort();
  h.Succeed("main");
  EXPECT_EQ(h.LastFinished("main").status, BuildStatus::kAborted);
  EXPECT_THAT(h.Running(), ElementsAre("step-on_abort"));
}

TEST(Abort, AfterTheBuildFinishedDoesNothing) {
  EngineHarness h(Parallel(""));
  h.Start();
  for (auto name : {"a", "b", "c", "after"}) h.Succeed(name);
  h.Abort();
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
  EXPECT_THAT(h.cancelled(), IsEmpty());
}

}  // namespace
}  // namespace baton::runner
