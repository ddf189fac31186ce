// ServerRuntime in-process: a real SQLite store in a temp dir, the API on port 0, a scripted
// worker. What `baton web` did inline now lives here, so its order of start and stop is tested
// without a child process.
#include "baton/webapi/server_runtime.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <random>
#include <thread>

#include "baton/net/http_client.h"
#include "baton/runner/sqlite_store.h"
#include "fakes/scripted_worker.h"
#include "fakes/server_process.h"
#include "fakes/test_env.h"

namespace baton::webapi {
namespace {

using testing::ReadFile;
using testing::ScriptedWorker;
using testing::TempDir;

class ServerRuntimeTest : public ::testing::Test {
 protected:
  ServerRuntimeOptions Options() {
    ServerRuntimeOptions options;
    options.data_dir = dir_.path().string();
    options.port = 0;
    options.version = "9.9.9";
    options.worker = &worker_;
    options.handle_signals = false;
    options.web_ui_dir = dir_ / "no-ui";
    options.heartbeat_every = std::chrono::milliseconds(50);
    return options;
  }
  std::unique_ptr<runner::Store> OpenStore() {
    auto store = runner::SqliteStore::OpenDataDir(dir_.path(), RealClock());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  // Starts a runtime and runs it on a thread until Stop().
  void StartRuntime(bool cluster = false) {
    auto options = Options();
    auto store = OpenStore();
    // SQLite's store is a ClusterStore too (notifications in-process): one node of a cluster.
    if (cluster) options.cluster = dynamic_cast<runner::ClusterStore*>(store.get());
    auto runtime = ServerRuntime::Start(std::move(store), options);
    ASSERT_TRUE(runtime.ok()) << runtime.status().ToString();
    runtime_ = std::move(*runtime);
    loop_ = std::thread([this] { runtime_->Run(); });
  }
  void Stop() {
    runtime_->Shutdown();
    loop_.join();
    runtime_.reset();
  }
  void TearDown() override {
    if (runtime_) Stop();
  }

  Result<net::ClientResponse> Get(const std::string& path, const std::string& token) {
    net::HttpClient client;
    net::Headers headers;
    if (!token.empty()) headers.Set("Authorization", "Bearer " + token);
    return client.Get(runtime_->base_url() + path, headers);
  }

  TempDir dir_;
  ScriptedWorker worker_{"scripted"};
  std::unique_ptr<ServerRuntime> runtime_;
  std::thread loop_;
};

TEST_F(ServerRuntimeTest, AFirstStartMakesAnAdminTokenThatOpensTheApiAndKeepsItPrivate) {
  StartRuntime();
  const auto& token = runtime_->new_admin_token();
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(ReadFile(dir_ / "admin-token"), *token + "\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "admin-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFile(dir_ / "server-url"), runtime_->base_url() + "\n");

  auto with = Get("/api/v1/workers", *token);
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->status, 200) << with->body;
  auto without = Get("/api/v1/workers", "");
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->status, 401);
}

TEST_F(ServerRuntimeTest, ARestartKeepsTheAdminTokenAndShowsNoNewOne) {
  StartRuntime();
  std::string token = *runtime_->new_admin_token();
  Stop();
  StartRuntime();
  EXPECT_FALSE(runtime_->new_admin_token().has_value());
  auto reply = Get("/api/v1/info", token);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(Json::parse(reply->body).value("version", ""), "9.9.9");
}

// The cluster's node list names hosts: anyone may read the version, only a caller with a valid
// token sees the nodes.
TEST_F(ServerRuntimeTest, InfoShowsTheClusterOnlyToAuthenticatedCallers) {
  StartRuntime(/*cluster=*/true);
  const std::string token = *runtime_->new_admin_token();
  Json with;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto reply = Get("/api/v1/info", token);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    ASSERT_EQ(reply->status, 200) << reply->body;
    with = Json::parse(reply->body);
    if (with.contains("cluster") && !with["cluster"].value("nodes", Json::array()).empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(with.contains("cluster")) << with.dump();
  EXPECT_EQ(with["cluster"]["nodes"].size(), 1u) << with.dump();
  EXPECT_FALSE(with["cluster"].value("name", "").empty()) << with.dump();

  for (const std::string& credentials : {std::string(), std::string("not-a-token")}) {
    auto reply = Get("/api/v1/info", credentials);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->status, 200) << reply->body;
    Json anonymous = Json::parse(reply->body);
    EXPECT_EQ(anonymous.value("version", ""), "9.9.9") << reply->body;
    EXPECT_FALSE(anonymous.contains("cluster")) << "token `" << credentials << "`: " << reply->body;
    EXPECT_EQ(reply->body.find(with["cluster"].value("name", "")), std::string::npos)
        << reply->body;
  }
}

TEST_F(ServerRuntimeTest, ItsWorkerIsRegisteredWhileRunningAndRemovedOnShutdown) {
  StartRuntime();
  auto reply = Get("/api/v1/workers", *runtime_->new_admin_token());
  ASSERT_TRUE(reply.ok());
  Json workers = Json::parse(reply->body);
  ASSERT_EQ(workers.size(), 1u) << reply->body;
  EXPECT_EQ(workers[0].value("name", ""), "scripted");
  EXPECT_EQ(workers[0].value("state", ""), "running");
  EXPECT_EQ(workers[0]["info"].value("version", ""), "9.9.9");
  Stop();
  auto store = OpenStore();
  auto left = store->ListWorkers();
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST_F(ServerRuntimeTest, ABuildAPreviousProcessLeftRunningIsMarkedErroredAtStart) {
  runner::Id build_id = 0;
  {
    auto store = OpenStore();
    auto build = store->CreateOneOffBuild("main", 0, Json::object());
    ASSERT_TRUE(build.ok()) << build.status().ToString();
    ASSERT_TRUE(store->StartBuild(build->id).ok());
    build_id = build->id;
  }
  StartRuntime();
  auto reply = Get("/api/v1/builds/" + std::to_string(build_id), *runtime_->new_admin_token());
  ASSERT_TRUE(reply.ok());
  Json build = Json::parse(reply->body);
  EXPECT_EQ(build.value("status", ""), "errored") << reply->body;
  EXPECT_NE(build.value("error", "").find("the server stopped"), std::string::npos);
}

// Once no build runs and no stream is open, the server gives back what the store cached for a
// build's log (Store::ReleaseCaches before malloc_trim): the writer's page cache, which ~4 MB of
// log fills to SQLite's 2 MiB, and the readers' (docs/benchmarks.md, branch memory2).
TEST_F(ServerRuntimeTest, AQuietServerGivesBackThePagesTheStoreCachedForALog) {
  testing::TaskScript script;
  std::mt19937 random(16);
  for (int i = 0; i < 40000; ++i) {  // random letters: the stored chunks stay ~4 MB
    std::string text(100, 'a');
    for (char& c : text) c = static_cast<char>('a' + random() % 26);
    script.lines.push_back({workers::OutputStream::kStdout, std::move(text)});
  }
  worker_.OnTaskMatching([](const workers::TaskRun&) { return true; }, std::move(script));
  StartRuntime();
  net::HttpClient client;
  net::Headers headers;
  headers.Set("Authorization", "Bearer " + *runtime_->new_admin_token());
  headers.Set("Content-Type", "application/json");
  const std::string job = runtime_->base_url() + "/api/v1/teams/main/pipelines/p";
  Json config = {{"config",
                  "jobs:\n- name: log\n  plan:\n  - task: t\n    config:\n      platform: linux\n"
                  "      run: {path: 'true'}\n"},
                 {"paused", false}};
  ASSERT_EQ(client.Send("PUT", job + "/config", config.dump(), headers)->status, 200);
  ASSERT_EQ(client.Send("POST", job + "/jobs/log/builds", "", headers)->status, 201);
  sqlite3_int64 filled = 0;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        auto builds = client.Send("GET", job + "/jobs/log/builds", "", headers);
        Json list = Json::parse(builds.ok() ? builds->body : "[]", nullptr, false);
        filled = std::max(filled, sqlite3_memory_used());
        return list.is_array() && !list.empty() && list[0].value("status", "") == "succeeded";
      },
      std::chrono::seconds(30)));
  EXPECT_TRUE(testing::WaitUntil([&] { return sqlite3_memory_used() < filled - (1 << 20); },
                                 std::chrono::seconds(10)))
      << "SQLite still uses " << sqlite3_memory_used() << " bytes of " << filled;
}

// Requests alone leave memory behind as builds do (the store's readers keep what they read; the
// arenas what the requests freed): a closed connection arms the same trim once nothing runs.
TEST_F(ServerRuntimeTest, AfterRequestsAloneAQuietServerGivesBackWhatTheStoreCached) {
  StartRuntime();
  const std::string token = *runtime_->new_admin_token();
  for (const char* path : {"/api/v1/teams/main/pipelines", "/api/v1/workers", "/api/v1/info"}) {
    auto reply = Get(path, token);  // a client of its own: its connection closes after it
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  }
  const sqlite3_int64 after_requests = sqlite3_memory_used();
  EXPECT_TRUE(testing::WaitUntil([&] { return sqlite3_memory_used() < after_requests; },
                                 std::chrono::seconds(10)))
      << "SQLite still uses " << sqlite3_memory_used() << " bytes of " << after_requests;
}

TEST_F(ServerRuntimeTest, APortInUseIsAnErrorNamingTheAddress) {
  StartRuntime();
  auto options = Options();
  options.port = static_cast<uint16_t>(std::stoi(runtime_->base_url().substr(17)));
  TempDir other;
  options.data_dir = other.path().string();
  auto store = runner::SqliteStore::OpenDataDir(other.path(), RealClock());
  ASSERT_TRUE(store.ok());
  auto second = ServerRuntime::Start(std::move(*store), options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().ToString().find("127.0.0.1:" + std::to_string(options.port)),
            std::string::npos)
      << second.status().ToString();
}

}  // namespace
}  // namespace baton::webapi
