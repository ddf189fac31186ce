// End to end: two `baton web --database postgres://... --local-worker` processes on one real
// PostgreSQL 15 (tests/fakes/postgres_server.h). A pipeline set through node A is run by both;
// 100 builds triggered alternately through A and B each run exactly once and both nodes serve
// every log; then the node that schedules is killed with -9 mid-build, and the other errors
// that build, starts the one it left pending and schedules on.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "fakes/postgres_server.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kPipeline = R"(
jobs:
- name: count
  max_in_flight: 4
  plan:
  - task: say
    config:
      platform: linux
      run: {path: sh, args: [-c, 'echo "ran build $BUILD_NAME"']}
- name: slow
  serial: true
  plan:
  - task: wait
    config:
      platform: linux
      run: {path: sh, args: [-c, 'if [ "$BUILD_NAME" = 1 ]; then sleep 600; fi; echo "slow $BUILD_NAME done"']}
)";

class ClusterWebE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = PostgresServer::Shared();
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    auto uri = (*pg)->CreateDatabase();
    ASSERT_TRUE(uri.ok()) << uri.status().ToString();
    const std::vector<std::string> args = {
        "--bind", "127.0.0.1:0", "--local-worker", "--database", *uri, "--lease-seconds", "3"};
    a_ = std::make_unique<ServerProcess>(args, "web");
    ASSERT_TRUE(a_->started()) << a_->log();
    b_ = std::make_unique<ServerProcess>(args, "web");
    ASSERT_TRUE(b_->started()) << b_->log();
  }

  // /api/v1/info's cluster part, through `node`.
  static json Cluster(const ServerProcess& node) { return node.Get("/api/v1/info")["cluster"]; }

  // The node whose process holds the scheduler's lease (node names carry their pid).
  ServerProcess* Leader() {
    json cluster = Cluster(*a_);
    const std::string leader = cluster.is_object() ? cluster.value("leader", "") : "";
    for (ServerProcess* node : {a_.get(), b_.get()}) {
      if (leader.find("-" + std::to_string(node->pid()) + "-") != std::string::npos) return node;
    }
    return nullptr;
  }

  static json Builds(const ServerProcess& node, const std::string& job) {
    return node.Get("/api/v1/teams/main/pipelines/p/jobs/" + job + "/builds?limit=200");
  }

  static std::string Status(const ServerProcess& node, int64_t id) {
    return node.Get("/api/v1/builds/" + std::to_string(id)).value("status", "");
  }

  static int Count(const std::string& text, const std::string& needle) {
    int n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }

  std::unique_ptr<ServerProcess> a_;
  std::unique_ptr<ServerProcess> b_;
};

TEST_F(ClusterWebE2E, TwoNodesRunEachBuildOnceServeEveryLogAndSurviveTheLeaderBeingKilled) {
  // Both nodes know each other, and exactly one schedules.
  ASSERT_TRUE(WaitUntil([&] { return Cluster(*b_)["nodes"].size() == 2; }, seconds(60)))
      << Cluster(*b_).dump();
  ASSERT_NE(Leader(), nullptr) << Cluster(*a_).dump();
  EXPECT_EQ(Cluster(*a_).value("leader", ""), Cluster(*b_).value("leader", ""));
  EXPECT_NE(b_->log().find("other nodes on this database: " + Cluster(*a_).value("name", "")),
            std::string::npos)
      << "B says on start which nodes it sees:\n"
      << b_->log();

  // Set through A, unpaused through B: both changes reach whichever node schedules.
  TempDir files;
  WriteFile(files / "p.yml", kPipeline);
  CliResult set = a_->Cli({"set-pipeline", "-n", "-p", "p", "-c", (files / "p.yml").string()});
  ASSERT_EQ(set.exit_code, 0) << set.All();
  ASSERT_EQ(b_->Cli({"unpause-pipeline", "-p", "p"}).exit_code, 0);

  constexpr int kBuilds = 100;
  std::set<int64_t> ids;
  for (int i = 0; i < kBuilds; ++i) {
    ServerProcess& through = i % 2 ? *b_ : *a_;
    ApiReply r = through.Api("POST", "/api/v1/teams/main/pipelines/p/jobs/count/builds");
    ASSERT_EQ(r.status, 201) << "trigger " << i << ": " << r.text;
    ids.insert(r.json.value("id", int64_t{0}));
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kBuilds));
  json builds;
  ASSERT_TRUE(WaitUntil(
      [&] {
        builds = Builds(*b_, "count");
        if (builds.size() != kBuilds) return false;
        for (const auto& b : builds) {
          if (b.value("status", "") == "pending" || b.value("status", "") == "started") {
            return false;
          }
        }
        return true;
      },
      std::chrono::minutes(5)))
      << builds.dump();
  std::set<std::string> names;
  for (const auto& b : builds) {
    EXPECT_EQ(b.value("status", ""), "succeeded") << b.dump();
    names.insert(b.value("name", ""));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kBuilds)) << "no build number twice";
  // Every build ran exactly once, and either node serves its whole log.
  for (int64_t id : ids) {
    const std::string from_a = a_->BuildLog(id);
    const std::string from_b = b_->BuildLog(id);
    EXPECT_EQ(Count(from_a, "ran build "), 1) << "build " << id << " through A:\n" << from_a;
    EXPECT_EQ(from_a, from_b) << "build " << id;
  }

  // Kill -9 the node that schedules while build 1 of `slow` runs and build 2 waits behind it.
  ServerProcess* leader = Leader();
  ASSERT_NE(leader, nullptr);
  ServerProcess& survivor = leader == a_.get() ? *b_ : *a_;
  ApiReply first = survivor.Api("POST", "/api/v1/teams/main/pipelines/p/jobs/slow/builds");
  ASSERT_EQ(first.status, 201) << first.text;
  const int64_t running = first.json.value("id", int64_t{0});
  ASSERT_TRUE(WaitUntil([&] { return Status(survivor, running) == "started"; }, seconds(60)));
  ApiReply second = survivor.Api("POST", "/api/v1/teams/main/pipelines/p/jobs/slow/builds");
  ASSERT_EQ(second.status, 201) << second.text;
  const int64_t waiting = second.json.value("id", int64_t{0});
  EXPECT_EQ(Status(survivor, waiting), "pending");
  leader->Kill(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();

  ASSERT_TRUE(WaitUntil([&] { return Status(survivor, running) == "errored"; }, seconds(60)))
      << Status(survivor, running) << "\n"
      << survivor.log();
  // Reported, not asserted (timing belongs to bench/): about --lease-seconds plus a third.
  const double takeover =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::printf(
      "[ cluster ] kill -9 of the leader -> its build errored by the survivor: %.1f s "
      "(--lease-seconds 3)\n",
      takeover);
  json errored = survivor.Get("/api/v1/builds/" + std::to_string(running));
  EXPECT_NE(errored.value("error", "").find("stopped"), std::string::npos) << errored.dump();
  ASSERT_TRUE(WaitUntil([&] { return Status(survivor, waiting) == "succeeded"; }, seconds(60)))
      << "the build the dead node left pending runs on the survivor: " << Status(survivor, waiting);
  EXPECT_NE(survivor.BuildLog(waiting).find("slow 2 done"), std::string::npos);
  EXPECT_EQ(Cluster(survivor).value("leader", ""), Cluster(survivor).value("name", ""));

  // The survivor schedules on, and soon lists only itself.
  ApiReply again = survivor.Api("POST", "/api/v1/teams/main/pipelines/p/jobs/count/builds");
  ASSERT_EQ(again.status, 201) << again.text;
  const int64_t after = again.json.value("id", int64_t{0});
  ASSERT_TRUE(WaitUntil([&] { return Status(survivor, after) == "succeeded"; }, seconds(60)));
  EXPECT_TRUE(WaitUntil([&] { return Cluster(survivor)["nodes"].size() == 1; }, seconds(60)))
      << Cluster(survivor).dump();
}

}  // namespace
}  // namespace baton::testing
