// ServerProcess: a real `baton quickstart` as a child process for end-to-end tests — port 0 on
// 127.0.0.1, its data in a directory the test owns — plus CliProcess/RunCli to run `baton`
// client commands against it with a clean HOME and BATON_TARGET_URL/BATON_TOKEN set. Used by the
// e2e tests and by bench_server.
//
//   ServerProcess server;                       // starts, waits for <data-dir>/server-url
//   auto r = server.Cli({"pipelines"});          // baton pipelines, against this server
//   server.Kill(SIGKILL); server.Start();        // crash, restart on the same data dir
//
// Not thread-safe: one test thread drives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {

// One API exchange: the HTTP status (0 when it failed: see text) and the body.
struct ApiReply {
  int status = 0;
  std::string text;
  nlohmann::json json;  // the body parsed, or null
};

// Polls `condition` every 20 ms until it holds or `deadline` passes; returns its last value.
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds deadline);

// Client commands run through the one child-process runner of e2e_util.h.
using CliResult = ProcessResult;
using CliProcess = ChildProcess;

// Runs `argv` to completion with `extra_env` added to the environment.
CliResult RunCli(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                 std::chrono::milliseconds timeout = std::chrono::minutes(2));

class ServerProcess {
 public:
  // A server on a fresh temporary data dir; check started() (the test fails with the log if
  // it could not start).
  ServerProcess();
  // The same with other listening arguments for `baton quickstart` than the default
  // {"--bind", "127.0.0.1:0"}, e.g. {"--bind", "192.0.2.2:8080", "--external-url", ...}.
  // `command` is "quickstart" or "web" (then `listen_args` may add --worker-key, --local-worker).
  explicit ServerProcess(std::vector<std::string> listen_args, std::string command = "quickstart");
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts (or restarts) `baton quickstart` on the same data dir and waits up to 60 s for it to
  // write server-url. False (with the log in log()) when it exits or times out first.
  bool Start();
  // Sends `sig` (SIGTERM: graceful; SIGKILL: crash, and its whole process group) and waits.
  void Kill(int sig = SIGTERM);

  bool started() const { return process_ != nullptr; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  const std::string& url() const { return url_; }      // "http://127.0.0.1:PORT"
  const std::string& token() const { return token_; }  // the admin token
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::string log() const;  // everything the server printed, across restarts

  // Environment that points a client at this server (BATON_TARGET_URL, BATON_TOKEN, a private
  // HOME so ~/.batonrc is the test's own).
  std::vector<std::string> ClientEnv() const;
  // Runs `baton <args>` against this server.
  CliResult Cli(const std::vector<std::string>& args,
                std::chrono::milliseconds timeout = std::chrono::minutes(2)) const;
  // Starts `baton <args>` against this server in the background.
  std::unique_ptr<CliProcess> StartCli(const std::vector<std::string>& args) const;

  // `method` url()+`path`, with the admin token unless `with_token` is false.
  ApiReply Api(const std::string& method, const std::string& path, const std::string& body = "",
               const std::map<std::string, std::string>& headers = {},
               bool with_token = true) const;
  // GET `path` with the token; the parsed body (null when the status is not 200).
  nlohmann::json Get(const std::string& path) const;

  // The builds of job `job` in pipeline `pipeline` (team main), newest first.
  nlohmann::json JobBuilds(const std::string& pipeline, const std::string& job) const;
  // Waits until the job has at least `count` builds and the newest `count` have finished;
  // returns the job's builds then (an empty array at the deadline).
  nlohmann::json WaitForFinishedBuilds(
      const std::string& pipeline, const std::string& job, size_t count,
      std::chrono::milliseconds deadline = std::chrono::seconds(60)) const;
  // POSTs a check of `resource` (team main), expecting 202, and follows the check until it
  // ends or `deadline` passes; returns its last state (null when the POST was refused).
  nlohmann::json CheckResource(const std::string& pipeline, const std::string& resource,
                               std::chrono::milliseconds deadline = std::chrono::seconds(60)) const;
  // Follows the build's live event stream until a log line contains `needle` (true), the
  // stream ends or `deadline` passes (false).
  bool WaitForLogLine(int64_t build_id, const std::string& needle,
                      std::chrono::milliseconds deadline = std::chrono::seconds(60)) const;
  // The log lines (every stream) of a finished build, '\n'-joined, from its event stream.
  std::string BuildLog(int64_t build_id) const;

 private:
  TempDir dir_;
  std::filesystem::path data_dir_;
  std::filesystem::path home_;
  std::vector<std::string> listen_args_;  // of quickstart: --bind ...
  std::string command_;                   // quickstart or web
  std::unique_ptr<ChildProcess> process_;
  std::string url_;
  std::string token_;
};

}  // namespace baton::testing
