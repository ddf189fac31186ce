#include "fakes/server_process.h"

#include <thread>

#include "baton/net/http_client.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  auto until = Steady::now() + deadline;
  while (true) {
    if (condition()) return true;
    if (Steady::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

CliResult RunCli(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                 std::chrono::milliseconds timeout) {
  ProcessOptions options;
  options.extra_env = extra_env;
  options.timeout = timeout;
  return RunProcess(argv, options);
}

ServerProcess::ServerProcess() : ServerProcess(std::vector<std::string>{"--bind", "127.0.0.1:0"}) {}

ServerProcess::ServerProcess(std::vector<std::string> listen_args, std::string command)
    : listen_args_(std::move(listen_args)), command_(std::move(command)) {
  data_dir_ = dir_.path() / "data";
  home_ = dir_.path() / "home";
  fs::create_directories(data_dir_);
  fs::create_directories(home_);
  Start();
}

ServerProcess::~ServerProcess() { Kill(SIGKILL); }

bool ServerProcess::Start() {
  Kill(SIGTERM);
  fs::path url_file = data_dir_ / "server-url";
  fs::remove(url_file);
  ProcessOptions options;
  options.output_file = dir_.path() / "server.log";
  options.timeout = std::chrono::hours(24);  // lives until Kill
  std::vector<std::string> argv{BatonBinary().string(), command_};
  argv.insert(argv.end(), listen_args_.begin(), listen_args_.end());
  for (const char* a : {"--data-dir", data_dir_.c_str(), "--log-level", "info"}) argv.push_back(a);
  process_ = std::make_unique<ChildProcess>(argv, options);
  auto until = Steady::now() + std::chrono::seconds(60);
  while (Steady::now() < until) {
    std::string url = Trim(ReadFile(url_file));
    if (!url.empty() && url.find('\n') == std::string::npos && url.rfind("http", 0) == 0) {
      url_ = url;
      token_ = Trim(ReadFile(data_dir_ / "admin-token"));
      return true;
    }
    if (process_->HasExited()) {
      process_.reset();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a file, with a deadline
  }
  Kill(SIGKILL);
  return false;
}

void ServerProcess::Kill(int sig) {
  if (!process_) return;
  if (sig == SIGKILL) {
    process_->SignalGroup(SIGKILL);  // the server and every task it started
  } else {
    process_->Signal(sig);
  }
  process_->Wait();
  process_.reset();
}

std::string ServerProcess::log() const { return ReadFile(dir_.path() / "server.log"); }

std::vector<std::string> ServerProcess::ClientEnv() const {
  return {"BATON_TARGET_URL=" + url_, "BATON_TOKEN=" + token_, "HOME=" + home_.string(),
          "NO_COLOR=1"};
}

CliResult ServerProcess::Cli(const std::vector<std::string>& args,
                             std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv = {BatonBinary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCli(argv, ClientEnv(), timeout);
}

std::unique_ptr<CliProcess> ServerProcess::StartCli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {BatonBinary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.extra_env = ClientEnv();
  return std::make_unique<CliProcess>(argv, options);
}

}  // namespace baton::testing

namespace baton::testing {

ApiReply ServerProcess::Api(const std::string& method, const std::string& path,
                            const std::string& body,
                            const std::map<std::string, std::string>& headers,
                            bool with_token) const {
  net::ClientOptions options;
  net::HttpClient client(options);
  net::Headers h;
  if (with_token) h.Set("Authorization", "Bearer " + token_);
  for (const auto& [k, v] : headers) h.Set(k, v);
  if (!h.Has("Content-Type")) h.Set("Content-Type", "application/json");
  ApiReply reply;
  auto r = client.Send(method, url_ + path, body, h);
  if (!r.ok()) {
    reply.text = r.status().ToString();
    return reply;
  }
  reply.status = r->status;
  reply.text = r->body;
  reply.json = nlohmann::json::parse(r->body, nullptr, false);
  if (reply.json.is_discarded()) reply.json = nullptr;
  return reply;
}

nlohmann::json ServerProcess::Get(const std::string& path) const {
  ApiReply r = Api("GET", path);
  return r.status == 200 ? r.json : nlohmann::json();
}

nlohmann::json ServerProcess::JobBuilds(const std::string& pipeline, const std::string& job) const {
  nlohmann::json builds =
      Get("/api/v1/teams/main/pipelines/" + pipeline + "/jobs/" + job + "/builds?limit=500");
  return builds.is_array() ? builds : nlohmann::json::array();
}

nlohmann::json ServerProcess::WaitForFinishedBuilds(const std::string& pipeline,
                                                    const std::string& job, size_t count,
                                                    std::chrono::milliseconds deadline) const {
  nlohmann::json builds;
  auto finished = [&] {
    builds = JobBuilds(pipeline, job);
    if (builds.size() < count) return false;
    for (size_t i = 0; i < count; ++i) {
      std::string status = builds[i].value("status", "");
      if (status == "pending" || status == "started") return false;
    }
    return true;
  };
  return WaitUntil(finished, deadline) ? builds : nlohmann::json::array();
}

nlohmann::json ServerProcess::CheckResource(const std::string& pipeline,
                                            const std::string& resource,
                                            std::chrono::milliseconds deadline) const {
  ApiReply queued =
      Api("POST", "/api/v1/teams/main/pipelines/" + pipeline + "/resources/" + resource + "/check");
  if (queued.status != 202 || !queued.json.is_object()) return nullptr;
  nlohmann::json check = queued.json;
  WaitUntil(
      [&] {
        nlohmann::json now = Get(queued.json.value("url", ""));
        if (now.is_object()) check = now;
        std::string status = check.value("status", "");
        return status == "succeeded" || status == "errored";
      },
      deadline);
  return check;
}

bool ServerProcess::WaitForLogLine(int64_t build_id, const std::string& needle,
                                   std::chrono::milliseconds deadline) const {
  net::ClientOptions options;
  options.insecure_skip_verify = true;
  options.stream_idle_timeout = deadline;
  net::HttpClient client(options);
  net::Headers headers;
  headers.Set("Authorization", "Bearer " + token_);
  bool found = false;
  auto until = Steady::now() + deadline;
  Status s =
      client.StreamEvents(url_ + "/api/v1/builds/" + std::to_string(build_id) + "/events", headers,
                          [&](const net::SseEvent& e) {
                            auto data = nlohmann::json::parse(e.data, nullptr, false);
                            if (e.event == "log" && data.is_object() &&
                                data.value("payload", "").find(needle) != std::string::npos) {
                              found = true;
                            }
                            return !found && Steady::now() < until;
                          });
  (void)s;
  return found;
}

std::string ServerProcess::BuildLog(int64_t build_id) const {
  ApiReply r = Api("GET", "/api/v1/builds/" + std::to_string(build_id) + "/events");
  std::string log;
  size_t pos = 0;
  while ((pos = r.text.find("data: ", pos)) != std::string::npos) {
    size_t end = r.text.find('\n', pos);
    auto event = nlohmann::json::parse(r.text.substr(pos + 6, end - pos - 6), nullptr, false);
    pos = end;
    if (event.is_object() && event.value("type", "") == "log") {
      log += event.value("payload", "") + "\n";
    }
  }
  return log;
}

}  // namespace baton::testing
