// End to end: a real `baton web` (no local worker) and real `baton worker` processes on
// loopback. A worker with a key the web node knows registers with its tags and team and is
// listed by `baton workers`; a clean stop deregisters it; an unknown key, or an API token
// used as a worker key, is refused and the worker exits saying why; a worker key opens no API
// route. (Steps on workers: worker_dispatch_test.cpp.)
#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/server_process.h"
#include "worker_cluster.h"

namespace baton::testing {
namespace {

using nlohmann::json;

// Two keys (with a comment and a blank line), as an authorized-keys file.
const std::string kKeyA = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const std::string kKeyB = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

class WorkerRegistrationE2E : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(web_.started()) << web_.log(); }

  // Starts `baton worker` with `key` (written to a key file) and extra flags.
  std::unique_ptr<ChildProcess> StartWorker(const std::string& name, const std::string& key,
                                            const std::vector<std::string>& extra = {}) {
    return cluster_.LaunchWorker(name, key, extra);
  }
  std::map<std::string, json> Workers() const { return cluster_.Workers(); }

  WorkerCluster cluster_{{}, "# workers of the e2e test\n" + kKeyA + " w1\n\n" + kKeyB + "\n"};
  ServerProcess& web_ = cluster_.web();
};

TEST_F(WorkerRegistrationE2E, AWorkerWithAKnownKeyIsListedWithItsTagsTeamAndHeartbeat) {
  auto worker = StartWorker("w1", kKeyA, {"--tag", "gpu", "--tag", "big", "--team", "main"});
  ASSERT_TRUE(worker->WaitForOutput("registered with", std::chrono::seconds(60)))
      << worker->out() << worker->err();
  auto workers = Workers();
  ASSERT_EQ(workers.count("w1"), 1u) << web_.log();
  const json& w = workers["w1"];
  EXPECT_EQ(w.value("state", ""), "running");
  EXPECT_EQ(w["tags"], json::array({"gpu", "big"}));
  EXPECT_EQ(w.value("team", ""), "main");
  EXPECT_EQ(w.value("active_containers", -1), 0);
  EXPECT_GE(w.value("heartbeat_age_seconds", -1), 0);
  EXPECT_TRUE(w["info"].value("remote", false));
  EXPECT_EQ(workers.count("local"), 0u) << "web without --local-worker has no local worker";

  CliResult table = web_.Cli({"workers"});
  ASSERT_EQ(table.exit_code, 0) << table.All();
  EXPECT_NE(table.out.find("w1"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("gpu,big"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("s ago"), std::string::npos) << table.out;
}

TEST_F(WorkerRegistrationE2E, AWorkerStoppedCleanlyDeregisters) {
  auto worker = StartWorker("w2", kKeyB);
  ASSERT_TRUE(worker->WaitForOutput("registered with", std::chrono::seconds(60)))
      << worker->out() << worker->err();
  ASSERT_EQ(Workers().count("w2"), 1u);
  worker->Signal(SIGTERM);
  ProcessResult result = worker->Wait();
  EXPECT_EQ(result.exit_code, 0) << result.All();
  EXPECT_NE(result.out.find("deregistered"), std::string::npos) << result.All();
  EXPECT_EQ(Workers().count("w2"), 0u);
}

TEST_F(WorkerRegistrationE2E, AnUnknownKeyIsRefusedAndTheWorkerExitsSayingWhatToDo) {
  auto worker = StartWorker("intruder", std::string(64, 'c'));
  ProcessResult result = worker->Wait();
  EXPECT_EQ(result.exit_code, 2) << result.All();
  EXPECT_NE(result.err.find("unknown worker key"), std::string::npos) << result.All();
  EXPECT_NE(result.err.find("--worker-key"), std::string::npos) << result.All();
  EXPECT_EQ(Workers().count("intruder"), 0u);
}

TEST_F(WorkerRegistrationE2E, AnApiTokenRegistersNoWorker) {
  auto worker = StartWorker("token-holder", web_.token());
  ProcessResult result = worker->Wait();
  EXPECT_EQ(result.exit_code, 2) << result.All();
  EXPECT_NE(result.err.find("unknown worker key"), std::string::npos) << result.All();
}

TEST_F(WorkerRegistrationE2E, AWorkerKeyOpensNoApiRoute) {
  for (const char* path : {"/api/v1/workers", "/api/v1/teams/main/pipelines"}) {
    ApiReply reply = web_.Api("GET", path, "", {{"Authorization", "Bearer " + kKeyA}}, false);
    EXPECT_EQ(reply.status, 401) << path << ": " << reply.text;
  }
}

}  // namespace
}  // namespace baton::testing

namespace baton::testing {
namespace {

using nlohmann::json;

TEST(WebLocalWorkerE2E, WebWithLocalWorkerRunsStepsInItsOwnProcessAsQuickstartDoes) {
  ServerProcess web({"--bind", "127.0.0.1:0", "--local-worker"}, "web");
  ASSERT_TRUE(web.started()) << web.log();
  TempDir files;
  WriteFile(files / "p.yml",
            "resources:\n- name: m\n  type: mock\n  check_every: 1h\n  source: {}\n"
            "jobs:\n- name: j\n  plan:\n  - get: m\n");
  CliResult set = web.Cli({"set-pipeline", "-n", "-p", "p", "-c", (files / "p.yml").string()});
  ASSERT_EQ(set.exit_code, 0) << set.All();
  json check = web.CheckResource("p", "m");
  EXPECT_EQ(check.value("status", ""), "succeeded") << check.dump() << web.log();
  json workers = web.Get("/api/v1/workers");
  ASSERT_TRUE(workers.is_array());
  ASSERT_EQ(workers.size(), 1u) << workers.dump();
  EXPECT_EQ(workers[0].value("name", ""), "local");
}

}  // namespace
}  // namespace baton::testing
