// The API's job, build and resource changes (pause/unpause a job, pin/unpin, trigger, abort,
// rerun) are scheduler commands: they change the store and the running state together, so a
// change never reloads the pipeline (which dropped the triggers queued behind a running build).
// In-process: a real SQLite store in a temp dir, the API on port 0, a scripted worker.
#include <gtest/gtest.h>

#include <thread>

#include "baton/net/http_client.h"
#include "baton/runner/sqlite_store.h"
#include "baton/webapi/server_runtime.h"
#include "fakes/scripted_worker.h"
#include "fakes/test_env.h"

namespace baton::webapi {
namespace {

using testing::ResourceScript;
using testing::ScriptedWorker;
using testing::TaskScript;
using testing::TempDir;

// One serial job: a second trigger waits in the scheduler's queue while the first build runs.
constexpr const char* kSerialJob = R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: a
  serial: true
  plan:
  - get: r
  - task: t
    config: {platform: linux, run: {path: ok}}
)";

class ApiCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ResourceScript check;
    check.handler = [](const workers::ResourceRun& run, workers::OutputSink&) {
      workers::ResourceResult r;
      if (run.action == workers::ResourceRun::Action::kCheck) {
        r.versions = {Json{{"v", "1"}}, Json{{"v", "2"}}};
      } else {
        r.version = run.version;
      }
      return r;
    };
    worker_.OnResource("mock", check);
    TaskScript held;
    held.hold = true;
    worker_.OnTaskMatching([](const workers::TaskRun&) { return true; }, held);

    auto store = runner::SqliteStore::OpenDataDir(dir_.path(), RealClock());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ServerRuntimeOptions options;
    options.data_dir = dir_.path().string();
    options.port = 0;
    options.worker = &worker_;
    options.handle_signals = false;
    options.web_ui_dir = dir_ / "no-ui";
    auto runtime = ServerRuntime::Start(std::move(*store), options);
    ASSERT_TRUE(runtime.ok()) << runtime.status().ToString();
    runtime_ = std::move(*runtime);
    token_ = *runtime_->new_admin_token();
    loop_ = std::thread([this] { runtime_->Run(); });
  }
  void TearDown() override {
    if (!runtime_) return;
    runtime_->Shutdown();
    loop_.join();
  }

  // The answer's status and JSON body.
  std::pair<int, Json> Call(const std::string& method, const std::string& path,
                            const Json& body = Json()) {
    net::HttpClient client;
    net::Headers headers;
    headers.Set("Authorization", "Bearer " + token_);
    auto reply = client.Send(method, runtime_->base_url() + path,
                             body.is_null() ? std::string() : body.dump(), headers);
    EXPECT_TRUE(reply.ok()) << method << " " << path << ": " << reply.status().ToString();
    if (!reply.ok()) return {0, Json()};
    Json parsed = Json::parse(reply->body, nullptr, false);
    return {reply->status, parsed};
  }

  std::string BuildStatus(int64_t id) {
    return Call("GET", "/api/v1/builds/" + std::to_string(id)).second.value("status", "");
  }

  // Waits (with a generous deadline, on a loaded machine) until `done` holds.
  template <typename F>
  bool Eventually(F done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  }

  // Sets the pipeline unpaused and checks `r` once, so that jobs have a version to run with.
  void SetPipeline() {
    auto [code, body] =
        Call("PUT", kPipeline + "/config", Json{{"config", kSerialJob}, {"paused", false}});
    ASSERT_EQ(code, 200) << body.dump();
    ASSERT_TRUE(Eventually([&] {
      auto versions = Call("GET", kPipeline + "/resources/r/versions");
      return versions.first == 200 && versions.second.size() == 2;
    }));
  }

  // Completes the held task of the `n`th task run (1-based).
  void ReleaseTask(size_t n) {
    ASSERT_TRUE(worker_.WaitForTasks(n, std::chrono::seconds(60)));
    ASSERT_TRUE(worker_.Release(worker_.task_runs()[n - 1].id));
  }

  const std::string kPipeline = "/api/v1/teams/main/pipelines/p";
  TempDir dir_;
  ScriptedWorker worker_{"scripted"};
  std::unique_ptr<ServerRuntime> runtime_;
  std::string token_;
  std::thread loop_;
};

TEST_F(ApiCommandsTest, PausingAJobOrPinningAVersionKeepsTheTriggersQueuedBehindARunningBuild) {
  SetPipeline();
  auto [first_code, first] = Call("POST", kPipeline + "/jobs/a/builds");
  ASSERT_EQ(first_code, 201) << first.dump();
  ASSERT_TRUE(worker_.WaitForTasks(1, std::chrono::seconds(60)));
  auto [second_code, second] = Call("POST", kPipeline + "/jobs/a/builds");
  ASSERT_EQ(second_code, 201) << second.dump();
  EXPECT_EQ(second.value("status", ""), "pending") << "the job is serial";

  EXPECT_EQ(Call("PUT", kPipeline + "/jobs/a/pause").first, 200);
  auto job = Call("GET", kPipeline + "/jobs/a");
  EXPECT_TRUE(job.second.value("paused", false)) << job.second.dump();
  EXPECT_EQ(Call("PUT", kPipeline + "/jobs/a/unpause").first, 200);
  auto versions = Call("GET", kPipeline + "/resources/r/versions").second;
  ASSERT_FALSE(versions.empty());
  const std::string pin = kPipeline + "/resources/r/versions/" +
                          std::to_string(versions.back().value("id", 0)) + "/pin";
  auto [pin_code, pinned] = Call("PUT", pin, Json{{"comment", "hold"}});
  EXPECT_EQ(pin_code, 200) << pinned.dump();
  auto resource = Call("GET", kPipeline + "/resources").second;
  ASSERT_EQ(resource.size(), 1u);
  EXPECT_EQ(resource[0].value("pin_comment", ""), "hold") << resource.dump();
  EXPECT_EQ(Call("PUT", kPipeline + "/resources/r/unpin").first, 200);

  // The build queued before these changes is still the scheduler's: it runs once the first ends.
  ReleaseTask(1);
  ReleaseTask(2);
  const int64_t second_id = second.value("id", 0);
  EXPECT_TRUE(Eventually([&] { return BuildStatus(second_id) == "succeeded"; }))
      << "build " << second_id << " is " << BuildStatus(second_id);
}

TEST_F(ApiCommandsTest, AbortAndRerunAnswerWithWhatTheSchedulerDid) {
  SetPipeline();
  auto [code, build] = Call("POST", kPipeline + "/jobs/a/builds");
  ASSERT_EQ(code, 201) << build.dump();
  const int64_t id = build.value("id", 0);
  ASSERT_TRUE(worker_.WaitForTasks(1, std::chrono::seconds(60)));
  auto [abort_code, aborting] = Call("PUT", "/api/v1/builds/" + std::to_string(id) + "/abort");
  EXPECT_EQ(abort_code, 200) << aborting.dump();
  EXPECT_EQ(aborting.value("aborting", 0), id);
  EXPECT_TRUE(Eventually([&] { return BuildStatus(id) == "aborted"; })) << BuildStatus(id);

  auto [rerun_code, rerun] = Call("POST", "/api/v1/builds/" + std::to_string(id) + "/rerun");
  ASSERT_EQ(rerun_code, 201) << rerun.dump();
  EXPECT_EQ(rerun.value("rerun_of", 0), id);
  EXPECT_EQ(rerun.value("name", ""), "1.1");
  ReleaseTask(2);
  const int64_t rerun_id = rerun.value("id", 0);
  EXPECT_TRUE(Eventually([&] { return BuildStatus(rerun_id) == "succeeded"; }))
      << BuildStatus(rerun_id);

  auto missing = Call("POST", "/api/v1/builds/4242/rerun");
  EXPECT_EQ(missing.first, 404) << missing.second.dump();
  auto unknown_job = Call("POST", kPipeline + "/jobs/nope/builds");
  EXPECT_EQ(unknown_job.first, 404) << unknown_job.second.dump();
}

// GET .../jobs writes its JSON straight to text: the same jobs as GET .../jobs/:job gives one at
// a time through Json, with no finished build (null) and with one that has an error.
TEST_F(ApiCommandsTest, TheJobsListIsWhatEachJobsOwnPageSays) {
  SetPipeline();
  auto list = Call("GET", kPipeline + "/jobs");
  ASSERT_EQ(list.second.size(), 1u) << list.second.dump();
  EXPECT_TRUE(list.second[0]["finished_build"].is_null());
  EXPECT_EQ(list.second[0], Call("GET", kPipeline + "/jobs/a").second);

  ASSERT_EQ(Call("POST", kPipeline + "/jobs/a/builds").first, 201);
  ASSERT_TRUE(worker_.WaitForTasks(1, std::chrono::seconds(60)));
  auto queued = Call("POST", kPipeline + "/jobs/a/builds").second;  // waits: the job is serial
  const int64_t id = queued.value("id", 0);
  ASSERT_EQ(Call("PUT", "/api/v1/builds/" + std::to_string(id) + "/abort").first, 200);
  ASSERT_TRUE(Eventually([&] { return BuildStatus(id) == "aborted"; })) << BuildStatus(id);
  list = Call("GET", kPipeline + "/jobs");
  ASSERT_EQ(list.second.size(), 1u) << list.second.dump();
  const Json& finished = list.second[0]["finished_build"];
  EXPECT_EQ(finished.value("id", 0), id) << finished.dump();
  EXPECT_FALSE(finished.value("error", "").empty()) << finished.dump();
  EXPECT_EQ(list.second[0], Call("GET", kPipeline + "/jobs/a").second);
  EXPECT_EQ(finished, Call("GET", "/api/v1/builds/" + std::to_string(id)).second);
  ReleaseTask(1);
}

}  // namespace
}  // namespace baton::webapi
