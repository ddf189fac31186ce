// Worker placement: Concourse's tag and team rules, load and capacity, and the reasons a step
// waits.
#include "baton/webapi/worker_placement.h"

#include <gtest/gtest.h>

namespace baton::webapi {
namespace {

PlacementCandidate Worker(std::string name, std::vector<std::string> tags = {},
                          std::string team = "", int running = 0, int capacity = 4) {
  PlacementCandidate c;
  c.name = std::move(name);
  c.tags = std::move(tags);
  c.team = std::move(team);
  c.running = running;
  c.capacity = capacity;
  return c;
}

workers::WorkerSpec Spec(std::vector<std::string> tags, std::string team = "main") {
  return {std::move(tags), std::move(team)};
}

std::string Chosen(const std::vector<PlacementCandidate>& workers, const workers::WorkerSpec& s) {
  auto i = ChooseWorker(workers, s);
  return i ? workers[*i].name : "";
}

TEST(WorkerPlacement, AnUntaggedStepGoesOnlyToUntaggedWorkers) {
  std::vector<PlacementCandidate> workers{Worker("gpu", {"gpu"}), Worker("plain", {}, "", 3)};
  EXPECT_EQ(Chosen(workers, Spec({})), "plain");
  workers[1].running = 4;  // full: the idle gpu worker still does not take it
  EXPECT_EQ(Chosen(workers, Spec({})), "");
  EXPECT_EQ(WhyNoWorker(workers, Spec({})),
            "all 1 untagged worker(s) are running as many steps as their capacity");
}

TEST(WorkerPlacement, ATaggedStepNeedsAWorkerWithEveryOneOfItsTags) {
  std::vector<PlacementCandidate> workers{Worker("plain"), Worker("gpu", {"gpu"}),
                                          Worker("both", {"cuda", "gpu"}, "", 2)};
  EXPECT_EQ(Chosen(workers, Spec({"gpu"})), "gpu");  // fewer running steps
  EXPECT_EQ(Chosen(workers, Spec({"gpu", "cuda"})), "both");
  EXPECT_EQ(Chosen(workers, Spec({"arm64"})), "");
  EXPECT_EQ(WhyNoWorker(workers, Spec({"arm64", "big"})),
            "no worker with tags [arm64, big]; start one with `baton worker --tag arm64 --tag "
            "big ...`, or change the step's (or its resource's) `tags:`");
}

TEST(WorkerPlacement, ATeamWorkerTakesOnlyItsTeamsStepsAndIsPreferredForThem) {
  std::vector<PlacementCandidate> workers{Worker("general"), Worker("ours", {}, "main", 2)};
  EXPECT_EQ(Chosen(workers, Spec({}, "main")), "ours");  // despite more running steps
  EXPECT_EQ(Chosen(workers, Spec({}, "other")), "general");
  workers.erase(workers.begin());
  EXPECT_EQ(Chosen(workers, Spec({}, "other")), "");
  EXPECT_EQ(WhyNoWorker(workers, Spec({}, "other")),
            "every untagged worker belongs to another team (--team), and this step is team "
            "other's; start one with --team other or without --team");
}

TEST(WorkerPlacement, LoadThenIdleTimeBreakTiesAndLandingWorkersTakeNothing) {
  std::vector<PlacementCandidate> workers{Worker("a", {}, "", 1), Worker("b", {}, "", 1)};
  workers[0].last_given = 7;
  workers[1].last_given = 3;
  EXPECT_EQ(Chosen(workers, Spec({})), "b");  // given work longest ago
  workers[1].running = 2;
  EXPECT_EQ(Chosen(workers, Spec({})), "a");
  workers[0].landing = true;
  workers[1].landing = true;
  EXPECT_EQ(Chosen(workers, Spec({})), "");
  EXPECT_EQ(WhyNoWorker(workers, Spec({})),
            "every untagged worker is landing (`baton land-worker`); start another worker");
}

TEST(WorkerPlacement, TheWorkerHoldingMostOfTheStepsVolumesWinsOverALessBusyOne) {
  std::vector<PlacementCandidate> workers{Worker("idle"), Worker("holder", {}, "", 2),
                                          Worker("full-holder", {}, "", 4)};
  workers[1].volumes_held = 2;
  workers[2].volumes_held = 3;  // at capacity: never chosen
  EXPECT_EQ(Chosen(workers, Spec({})), "holder");
  workers[1].volumes_held = 0;
  EXPECT_EQ(Chosen(workers, Spec({})), "idle");
}

TEST(WorkerPlacement, NoWorkersAtAllSaysHowToStartOne) {
  EXPECT_EQ(WhyNoWorker({}, Spec({"gpu"})).rfind("no worker has registered", 0), 0u);
  EXPECT_EQ(WhyNoWorker({Worker("gpu", {"gpu"})}, Spec({})),
            "no untagged worker (untagged steps run only on workers started without --tag)");
}

}  // namespace
}  // namespace baton::webapi
