// libFuzzer target: arbitrary requests through the whole /api/v1 router, in process, over a real
// SQLite store and scheduler (its worker refuses every step, so nothing runs on this machine).
//
// Input: byte 0 picks a route template, then up to the first '\n' a path segment or query that
// fills the template, up to the second '\n' a header value (the config version, the webhook
// signature), and the rest is the body. Any crash, sanitizer report, hang or 5xx is a bug: bad
// input must get a 4xx.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "baton/common/clock.h"
#include "baton/runner/scheduler.h"
#include "baton/runner/sqlite_store.h"
#include "baton/webapi/api.h"
#include "baton/webapi/http_types.h"
#include "baton/webapi/router.h"
#include "baton/workers/worker.h"

namespace {

namespace fs = std::filesystem;
using namespace baton;

constexpr const char* kToken = "fuzz-token-0123456789";

// A worker that refuses every step at once.
class RefusingWorker : public workers::Worker {
 public:
  std::string name() const override { return "refusing"; }
  workers::IsolationLevel isolation() const override { return workers::IsolationLevel::kNone; }
  std::unique_ptr<workers::StepHandle> RunTask(
      const workers::TaskRun&, std::shared_ptr<workers::OutputSink>,
      std::function<void(workers::TaskResult)> done) override {
    workers::TaskResult result;
    result.error = Unavailable("the fuzzer's worker runs nothing");
    done(std::move(result));
    return nullptr;
  }
  std::unique_ptr<workers::StepHandle> RunResource(
      const workers::ResourceRun&, std::shared_ptr<workers::OutputSink>,
      std::function<void(workers::ResourceResult)> done) override {
    workers::ResourceResult result;
    result.error = Unavailable("the fuzzer's worker runs nothing");
    done(std::move(result));
    return nullptr;
  }
};

struct Route {
  const char* method;
  const char* before;  // the target is before + <fuzzed line> + after
  const char* after;
};

constexpr Route kRoutes[] = {
    {"PUT", "/api/v1/teams/main/pipelines/", "/config"},
    {"POST", "/api/v1/teams/main/pipelines/p/config/validate", ""},
    {"PUT", "/api/v1/teams/main/pipelines/", "/pause"},
    {"GET", "/api/v1/builds", ""},
    {"GET", "/api/v1/builds/", ""},
    {"GET", "/api/v1/teams/main/pipelines/p/resources/r/versions", ""},
    {"PUT", "/api/v1/teams/main/pipelines/p/resources/r/versions/", "/pin"},
    {"POST", "/api/v1/teams/main/pipelines/p/resources/", "/check"},
    {"POST", "/api/v1/teams/main/pipelines/p/jobs/", "/builds"},
    {"GET", "/api/v1/teams/main/pipelines/p/jobs/j/builds", ""},
    {"POST", "/api/v1/session", ""},
    {"POST", "/api/v1/webhooks/", ""},
    {"POST", "/api/v1/teams/main/pipelines/p/resources/r/check/webhook", ""},
    {"GET", "/api/v1/teams/main/dashboard", ""},
};

constexpr const char* kSeedPipeline = R"(resources:
- name: r
  type: mock
  source: {}
  webhook_token: hook
jobs:
- name: j
  plan:
  - get: r
    trigger: true
  - task: t
    config:
      platform: linux
      run: {path: "true"}
)";

class Harness {
 public:
  Harness() {
    dir_ = fs::temp_directory_path() / ("baton-fuzz-api-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = runner::SqliteStore::Open(dir_ / "baton.db", RealClock());
    if (!store.ok()) Die(store.status().ToString());
    store_ = std::move(*store);
    if (auto t = store_->CreateApiToken("main", "fuzz", kToken, std::nullopt); !t.ok())
      Die(t.status().ToString());
    runner::SchedulerOptions options;
    options.data_dir = (dir_ / "data").string();
    options.periodic_checks = false;
    scheduler_ = std::make_unique<runner::Scheduler>(
        io_, runner::SchedulerStores{*store_, *store_, *store_}, worker_, options);
    router_ = std::make_unique<webapi::Router>(
        webapi::MakeApiRouter(io_, *store_, *scheduler_, webapi::ApiOptions{}));
    io_thread_ = std::thread([this] { io_.run(); });
    // The body set-pipeline takes: {"config": "<yaml>", "vars": {...}, "paused": ...}.
    webapi::Response r = Send("PUT", "/api/v1/teams/main/pipelines/p/config", "",
                              nlohmann::json{{"config", kSeedPipeline}, {"paused", false}}.dump());
    if (r.status >= 300) Die("seed pipeline refused: " + r.body);
  }

  ~Harness() {
    work_.reset();
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  webapi::Response Send(const std::string& method, const std::string& target,
                        const std::string& header, std::string body) {
    webapi::Request req;
    req.method = method;
    req.target = target;
    size_t q = target.find('?');
    auto path = net::PercentDecode(std::string_view(target).substr(0, q), false);
    auto query =
        net::ParseQuery(q == std::string::npos ? "" : std::string_view(target).substr(q + 1));
    if (!path || !query) {  // the server refuses these before routing, as here
      webapi::Response refused;
      refused.status = 400;
      return refused;
    }
    req.path = std::move(*path);
    req.query = std::move(*query);
    req.headers.Set("Authorization", std::string("Bearer ") + kToken);
    req.headers.Set("Content-Type", "application/json");
    req.headers.Set("X-Concourse-Config-Version", header);
    req.headers.Set("X-GitHub-Event", "push");
    req.headers.Set("X-Hub-Signature-256", header);
    req.body = std::move(body);
    req.remote_address = "127.0.0.1:1";
    // Offloaded work (PUT .../config, validate) runs here, as the server runs it on its pool.
    return webapi::Response::Resolve(router_->Dispatch(req));
  }

 private:
  [[noreturn]] static void Die(const std::string& why) {
    std::fprintf(stderr, "fuzz_api setup: %s\n", why.c_str());
    std::abort();
  }

  fs::path dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  RefusingWorker worker_;
  std::unique_ptr<runner::SqliteStore> store_;
  std::unique_ptr<runner::Scheduler> scheduler_;
  std::unique_ptr<webapi::Router> router_;
  std::thread io_thread_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness();  // one store for the whole run, as a server has
  if (size == 0) return 0;
  const Route& route = kRoutes[data[0] % std::size(kRoutes)];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  nl = rest.find('\n');
  std::string header(rest.substr(0, nl));
  std::string body(nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1));
  std::string target = std::string(route.before) + std::string(line) + route.after;
  if (target.find_first_of(std::string_view("\0\r\n ", 4)) != std::string::npos) return 0;
  webapi::Response response = harness->Send(route.method, target, header, std::move(body));
  if (response.status >= 500 && response.status != 503 && response.status != 504) {
    std::fprintf(stderr, "fuzz_api: %s %s -> %d %s\n", route.method, target.c_str(),
                 response.status, response.body.c_str());
    std::abort();
  }
  return 0;
}
