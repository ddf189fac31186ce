#include "client/build_watcher.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "client/table.h"

namespace baton::cli {
namespace {

constexpr int kReconnects = 5;

void OnInterrupt(int) {
  static const char kMessage[] = "\ndetached; the build goes on\n";
  ssize_t ignored = ::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  (void)ignored;
  ::_exit(130);
}

void Write(std::FILE* out, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

Json ParsePayload(const Json& data) {
  if (!data.contains("payload") || !data["payload"].is_string()) return Json::object();
  Json j = Json::parse(data["payload"].get<std::string>(), nullptr, false);
  return j.is_object() ? j : Json::object();
}

std::string Str(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

}  // namespace

int ExitCodeForBuildStatus(const std::string& status) {
  if (status == "succeeded") return 0;
  if (status == "errored") return 2;
  if (status == "aborted") return 3;
  return 1;
}

void DetachOnInterrupt() {
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
}

BuildWatcher::BuildWatcher(ApiClient& client, bool color_out, bool color_err)
    : client_(client), color_out_(color_out), color_err_(color_err) {}

void BuildWatcher::PrintStepStart(const Json& step) {
  std::string header = Str(step, "type") + ": " + Str(step, "name");
  if (step.value("attempt", 1) > 1)
    header += " (attempt " + std::to_string(step["attempt"].get<int>()) + ")";
  if (!Str(step, "hook").empty()) header += " [" + Str(step, "hook") + "]";
  Write(stdout, color_out_ ? "\033[1m" + header + "\033[0m\n" : header + "\n");
}

void BuildWatcher::PrintStepFinish(const Json& step) {
  std::string status = Str(step, "status");
  if (status.empty() || status == "succeeded") return;
  std::string line = Str(step, "type") + ": " + Str(step, "name") + " ";
  line += color_out_ ? StatusColor(status) + status + "\033[0m" : status;
  if (step.contains("exit_code"))
    line += " (exit " + std::to_string(step["exit_code"].get<int>()) + ")";
  if (!Str(step, "message").empty()) line += ": " + Str(step, "message");
  Write(stdout, line + "\n");
}

void BuildWatcher::PrintLog(const std::string& stream, const std::string& line) {
  if (stream == "stderr") {
    Write(stderr, color_err_ ? "\033[31m" + line + "\033[0m\n" : line + "\n");
  } else if (stream == "system") {
    Write(stdout, color_out_ ? "\033[36m" + line + "\033[0m\n" : line + "\n");
  } else {
    Write(stdout, line + "\n");
  }
}

bool BuildWatcher::OnEvent(const std::string& type, const Json& data) {
  if (data.contains("seq") && data["seq"].is_number_integer()) {
    int64_t seq = data["seq"].get<int64_t>();
    if (seq <= last_seq_) return true;  // already shown before a reconnect
    last_seq_ = seq;
  }
  std::string kind = type.empty() ? Str(data, "type") : type;
  if (kind == "step-start") {
    PrintStepStart(ParsePayload(data));
  } else if (kind == "step-finish") {
    PrintStepFinish(ParsePayload(data));
  } else if (kind == "log") {
    PrintLog(Str(data, "stream"), Str(data, "payload"));
  } else if (kind == "status") {
    last_status_ = Str(data, "payload");
  }
  return true;
}

Result<WatchOutcome> BuildWatcher::Watch(int64_t build_id) {
  Status streamed;
  for (int attempt = 0; attempt <= kReconnects; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500 * attempt));
    streamed = client_.StreamBuildEvents(
        build_id, last_seq_, [this](const std::string& t, const Json& d) { return OnEvent(t, d); });
    if (streamed.ok()) break;
  }
  auto build = client_.Get("/builds/" + std::to_string(build_id));
  if (!build.ok()) {
    return streamed.ok() ? build.status()
                         : Unavailable("lost the build's event stream: " + streamed.message());
  }
  WatchOutcome outcome;
  outcome.status = Str(*build, "status");
  outcome.error = Str(*build, "error");
  if (!streamed.ok() && (outcome.status == "started" || outcome.status == "pending")) {
    return Unavailable("lost the build's event stream: " + streamed.message());
  }
  std::string label = Str(*build, "job_name").empty()
                          ? "build " + std::to_string(build_id)
                          : Str(*build, "pipeline_name") + "/" + Str(*build, "job_name") + " #" +
                                Str(*build, "name");
  std::string shown =
      color_out_ ? StatusColor(outcome.status) + outcome.status + "\033[0m" : outcome.status;
  std::string line = label + " " + shown;
  if (!outcome.error.empty()) line += ": " + outcome.error;
  Write(stdout, line + "\n");
  return outcome;
}

}  // namespace baton::cli
