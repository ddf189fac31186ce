#include "fakes/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <thread>

#include "baton/webapi/http_client.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

[[noreturn]] void Exec(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       int out_fd, int err_fd) {
  setpgid(0, 0);
  int null_fd = open("/dev/null", O_RDONLY);
  dup2(null_fd, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  for (const auto& kv : env) putenv(const_cast<char*>(kv.c_str()));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

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

CliProcess::CliProcess(const std::vector<std::string>& argv,
                       const std::vector<std::string>& extra_env,
                       std::chrono::milliseconds timeout) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  deadline_ = Steady::now() + timeout;
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) Exec(argv, extra_env, out[1], err[1]);
  setpgid(pid_, pid_);
  close(out[1]);
  close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
}

CliProcess::~CliProcess() {
  if (!done_ && pid_ > 0) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

bool CliProcess::Pump(int wait_ms) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int open_fds = (out_fd_ >= 0) + (err_fd_ >= 0);
  if (open_fds == 0) return false;
  if (poll(fds, 2, wait_ms) <= 0) return true;
  char buf[8192];
  int* fd_of[2] = {&out_fd_, &err_fd_};
  std::string* sink[2] = {&result_.out, &result_.err};
  for (int i = 0; i < 2; ++i) {
    if (*fd_of[i] < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = read(*fd_of[i], buf, sizeof buf);
    if (n > 0) {
      sink[i]->append(buf, static_cast<size_t>(n));
    } else {
      close(*fd_of[i]);
      *fd_of[i] = -1;
    }
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

bool CliProcess::WaitForOutput(const std::string& needle, std::chrono::milliseconds deadline) {
  auto until = Steady::now() + deadline;
  while (Steady::now() < until) {
    if (result_.All().find(needle) != std::string::npos) return true;
    if (!Pump(50)) return result_.All().find(needle) != std::string::npos;
  }
  return false;
}

void CliProcess::Signal(int sig) {
  if (!done_ && pid_ > 0) kill(pid_, sig);
}

CliResult CliProcess::Wait() {
  if (done_) return result_;
  while (Pump(100)) {
    if (Steady::now() > deadline_) {
      result_.timed_out = true;
      kill(-pid_, SIGKILL);
    }
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  done_ = true;
  result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result_;
}

CliResult RunCli(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                 std::chrono::milliseconds timeout) {
  CliProcess process(argv, extra_env, timeout);
  return process.Wait();
}

ServerProcess::ServerProcess() {
  data_dir_ = dir_.path() / "data";
  home_ = dir_.path() / "home";
  fs::create_directories(data_dir_);
  fs::create_directories(home_);
  Start();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill(SIGKILL);
}

bool ServerProcess::Start() {
  if (pid_ > 0) Kill(SIGTERM);
  fs::path url_file = data_dir_ / "server-url";
  fs::remove(url_file);
  int log_fd =
      open((dir_.path() / "server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::vector<std::string> argv = {BatonBinary().string(), "quickstart", "--bind",
                                   "127.0.0.1:0",          "--data-dir", data_dir_.string(),
                                   "--log-level",          "info"};
  pid_ = fork();
  if (pid_ == 0) Exec(argv, {}, log_fd, log_fd);
  close(log_fd);
  setpgid(pid_, pid_);
  auto until = Steady::now() + std::chrono::seconds(60);
  while (Steady::now() < until) {
    std::string url = Trim(ReadFile(url_file));
    if (!url.empty() && url.find('\n') == std::string::npos && url.rfind("http", 0) == 0) {
      url_ = url;
      token_ = Trim(ReadFile(data_dir_ / "admin-token"));
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a file, with a deadline
  }
  Kill(SIGKILL);
  return false;
}

void ServerProcess::Kill(int sig) {
  if (pid_ <= 0) return;
  if (sig == SIGKILL) {
    kill(-pid_, SIGKILL);  // the server and every task it started
  } else {
    kill(pid_, sig);
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
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
  return std::make_unique<CliProcess>(argv, ClientEnv());
}

}  // namespace baton::testing

namespace baton::testing {

ApiReply ServerProcess::Api(const std::string& method, const std::string& path,
                            const std::string& body,
                            const std::map<std::string, std::string>& headers,
                            bool with_token) const {
  webapi::ClientOptions options;
  webapi::HttpClient client(options);
  webapi::Headers h;
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

bool ServerProcess::WaitForLogLine(int64_t build_id, const std::string& needle,
                                   std::chrono::milliseconds deadline) const {
  webapi::ClientOptions options;
  options.insecure_skip_verify = true;
  options.stream_idle_timeout = deadline;
  webapi::HttpClient client(options);
  webapi::Headers headers;
  headers.Set("Authorization", "Bearer " + token_);
  bool found = false;
  auto until = Steady::now() + deadline;
  Status s =
      client.StreamEvents(url_ + "/api/v1/builds/" + std::to_string(build_id) + "/events", headers,
                          [&](const webapi::SseEvent& e) {
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
