// A `baton web` without a local worker plus real `baton worker` processes on loopback, for the
// worker end-to-end tests: start workers with flags, set pipelines, trigger jobs, and read a
// build's log per step (which worker each step ran on: its "selected worker: NAME" line).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fakes/e2e_util.h"
#include "fakes/server_process.h"

namespace baton::testing {

class WorkerCluster {
 public:
  // `web_flags` are added to `baton web --bind 127.0.0.1:0 --worker-key FILE` (their own `--bind`
  // replaces the free port, e.g. to restart the web node where its workers look for it).
  // `authorized_keys` is the web node's --worker-key file (by default the one key StartWorker
  // uses).
  explicit WorkerCluster(std::vector<std::string> web_flags = {},
                         std::string authorized_keys = Key() + "\n")
      : web_(WebArgs(keys_, std::move(web_flags), authorized_keys), "web") {}

  // The key StartWorker's workers prove themselves with.
  static std::string Key() { return "f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7"; }

  ServerProcess& web() { return web_; }
  const std::filesystem::path& files() const { return files_.path(); }

  // Starts `baton worker --name NAME` with `extra` flags and waits for its registration.
  std::unique_ptr<ChildProcess> StartWorker(const std::string& name,
                                            const std::vector<std::string>& extra = {}) {
    auto worker = LaunchWorker(name, Key(), extra);
    EXPECT_TRUE(worker->WaitForOutput("registered with", std::chrono::seconds(60)))
        << worker->out() << worker->err();
    return worker;
  }

  // Starts `baton worker --name NAME` proving itself with `key` (written to NAME.key), without
  // waiting: for tests of what the web node refuses. `web_url` replaces the web node's own URL
  // (e.g. a TLS front of it).
  std::unique_ptr<ChildProcess> LaunchWorker(const std::string& name, const std::string& key,
                                             const std::vector<std::string>& extra = {},
                                             const std::string& web_url = "") {
    std::filesystem::path key_file = files_ / (name + ".key");
    WriteFile(key_file, key + "\n");
    std::vector<std::string> argv{BatonBinary().string(),
                                  "worker",
                                  "--web",
                                  web_url.empty() ? web_.url() : web_url,
                                  "--name",
                                  name,
                                  "--work-dir",
                                  (files_ / name).string(),
                                  "--key",
                                  key_file.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ProcessOptions options;
    options.timeout = std::chrono::minutes(5);
    return std::make_unique<ChildProcess>(argv, options);
  }

  void SetPipeline(const std::string& name, const std::string& yaml) {
    WriteFile(files_ / (name + ".yml"), yaml);
    CliResult set =
        web_.Cli({"set-pipeline", "-n", "-p", name, "-c", (files_ / (name + ".yml")).string()});
    ASSERT_EQ(set.exit_code, 0) << set.All();
  }

  // Starts a build of `pipeline`/`job` and returns its id (-1 when refused).
  int64_t Trigger(const std::string& pipeline, const std::string& job) {
    ApiReply reply =
        web_.Api("POST", "/api/v1/teams/main/pipelines/" + pipeline + "/jobs/" + job + "/builds");
    EXPECT_EQ(reply.status, 201) << reply.text;
    return reply.json.is_object() ? reply.json.value("id", int64_t{-1}) : -1;
  }

  // The workers the API lists, by name.
  std::map<std::string, nlohmann::json> Workers() const {
    std::map<std::string, nlohmann::json> out;
    nlohmann::json list = web_.Get("/api/v1/workers");
    if (list.is_array()) {
      for (const auto& w : list) out[w.value("name", "")] = w;
    }
    return out;
  }

  std::string Status(int64_t build) const {
    return web_.Get("/api/v1/builds/" + std::to_string(build)).value("status", "");
  }

  // The build's log lines by step (event origin), in order.
  std::map<std::string, std::string> StepLogs(int64_t build) const {
    ApiReply r = web_.Api("GET", "/api/v1/builds/" + std::to_string(build) + "/events");
    std::map<std::string, std::string> logs;
    size_t pos = 0;
    while ((pos = r.text.find("data: ", pos)) != std::string::npos) {
      size_t end = r.text.find('\n', pos);
      auto event = nlohmann::json::parse(r.text.substr(pos + 6, end - pos - 6), nullptr, false);
      pos = end;
      if (event.is_object() && event.value("type", "") == "log") {
        logs[event.value("origin", "")] += event.value("payload", "") + "\n";
      }
    }
    return logs;
  }

  // The worker named by the "selected worker: NAME" line of the step whose log has `marker`
  // ("" when no step's log has it, "?" when that step names no worker).
  std::string WorkerOfStepSaying(int64_t build, const std::string& marker) const {
    for (const auto& [origin, log] : StepLogs(build)) {
      if (log.find(marker) == std::string::npos) continue;
      const std::string said = "selected worker: ";
      size_t at = log.rfind(said);
      if (at == std::string::npos) return "?";
      size_t end = log.find('\n', at);
      return log.substr(at + said.size(), end - at - said.size());
    }
    return "";
  }

 private:
  static std::vector<std::string> WebArgs(const TempDir& keys, std::vector<std::string> flags,
                                          const std::string& authorized_keys) {
    WriteFile(keys / "authorized", authorized_keys);
    std::vector<std::string> args{"--worker-key", (keys / "authorized").string()};
    if (std::find(flags.begin(), flags.end(), "--bind") == flags.end()) {
      args.insert(args.begin(), {"--bind", "127.0.0.1:0"});  // a free port unless `flags` names one
    }
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
  }

  TempDir keys_;
  TempDir files_;
  ServerProcess web_;
};

}  // namespace baton::testing
