// End to end: the local worker of `baton quickstart` registers itself in the store, so
// `baton workers` and GET /api/v1/workers show it; a worker whose heartbeat stopped is stalled.
#include <gtest/gtest.h>

#include "baton/runner/sqlite_store.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;

class ServerWorkersE2E : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.started()) << server_.log(); }
  ServerProcess server_;
};

TEST_F(ServerWorkersE2E, TheLocalWorkerIsListedRunningWithItsVersionAndActiveCounts) {
  json workers = server_.Get("/api/v1/workers");
  ASSERT_TRUE(workers.is_array()) << server_.log();
  ASSERT_EQ(workers.size(), 1u) << workers.dump();
  const json& w = workers[0];
  EXPECT_EQ(w.value("name", ""), "local");
  EXPECT_EQ(w.value("platform", ""), "linux");
  EXPECT_EQ(w.value("state", ""), "running");
  ASSERT_TRUE(w["info"].is_object()) << w.dump();
  EXPECT_FALSE(w["info"].value("version", "").empty());
  EXPECT_FALSE(w["info"].value("started_at", "").empty());
  EXPECT_FALSE(w["info"].value("last_heartbeat", "").empty());
  EXPECT_EQ(w["info"].value("active_tasks", -1), 0);
  EXPECT_EQ(w["info"].value("active_containers", -1), 0);

  CliResult list = server_.Cli({"workers"});
  ASSERT_EQ(list.exit_code, 0) << list.All();
  EXPECT_NE(list.out.find("local"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("running"), std::string::npos) << list.out;
}

TEST_F(ServerWorkersE2E, AWorkerWhoseHeartbeatIsOlderThanTheTimeoutShowsAsStalled) {
  {
    // Another worker that beat once, five minutes ago (written beside the running server, as a
    // remote worker's registration would be).
    auto store = runner::SqliteStore::OpenDataDir(server_.data_dir(), RealClock());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    runner::WorkerRecord old;
    old.name = "far-away";
    old.platform = "linux";
    old.state = "running";
    old.last_heartbeat = RealClock().Now() - std::chrono::minutes(5);
    ASSERT_TRUE((*store)->SaveWorker(old).ok());
  }
  CliResult list = server_.Cli({"workers", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.All();
  json workers = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(workers.is_array()) << list.out;
  std::map<std::string, std::string> states;
  for (const auto& w : workers) states[w.value("name", "")] = w.value("state", "");
  EXPECT_EQ(states["far-away"], "stalled");
  EXPECT_EQ(states["local"], "running");
  CliResult table = server_.Cli({"workers"});
  EXPECT_NE(table.out.find("stalled"), std::string::npos) << table.out;
}

TEST_F(ServerWorkersE2E, AStoppedServerRemovesItsWorkerAndARestartRegistersItAgain) {
  server_.Kill(SIGTERM);
  {
    auto store = runner::SqliteStore::OpenDataDir(server_.data_dir(), RealClock());
    ASSERT_TRUE(store.ok());
    EXPECT_TRUE((*store)->ListWorkers()->empty());
  }
  ASSERT_TRUE(server_.Start()) << server_.log();
  json workers = server_.Get("/api/v1/workers");
  ASSERT_TRUE(workers.is_array());
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].value("state", ""), "running");
}

}  // namespace
}  // namespace baton::testing
