// ServerProcess: a real `baton quickstart` as a child process for end-to-end tests — port 0 on
// 127.0.0.1, its data in a directory the test owns — plus CliProcess/RunCli to run `baton`
// client commands against it with a clean HOME and BATON_TARGET_URL/BATON_TOKEN set.
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
#include <memory>
#include <string>
#include <vector>

#include <functional>
#include <map>

#include <nlohmann/json.hpp>

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

struct CliResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
  std::string All() const { return out + err; }
};

// A child process with piped stdout/stderr (stdin is /dev/null), in its own process group.
// The destructor SIGKILLs the group if it still runs.
class CliProcess {
 public:
  CliProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
             std::chrono::milliseconds timeout = std::chrono::minutes(2));
  ~CliProcess();
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reads until stdout+stderr contain `needle`; false at the deadline or when the process ended.
  bool WaitForOutput(const std::string& needle, std::chrono::milliseconds deadline);
  void Signal(int sig);
  // Waits for the exit (SIGKILL at the timeout) and returns what it printed.
  CliResult Wait();
  const std::string& out() const { return result_.out; }
  const std::string& err() const { return result_.err; }

 private:
  bool Pump(int wait_ms);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool done_ = false;
  std::chrono::steady_clock::time_point deadline_;
  CliResult result_;
};

// Runs `argv` to completion.
CliResult RunCli(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                 std::chrono::milliseconds timeout = std::chrono::minutes(2));

class ServerProcess {
 public:
  // A server on a fresh temporary data dir; check started() (the test fails with the log if
  // it could not start).
  ServerProcess();
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts (or restarts) `baton quickstart` on the same data dir and waits up to 60 s for it to
  // write server-url. False (with the log in log()) when it exits or times out first.
  bool Start();
  // Sends `sig` (SIGTERM: graceful; SIGKILL: crash, and its whole process group) and waits.
  void Kill(int sig = SIGTERM);

  bool started() const { return pid_ > 0; }
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
  pid_t pid_ = -1;
  std::string url_;
  std::string token_;
};

}  // namespace baton::testing
