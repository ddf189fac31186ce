#include "baton/workers/web_connection.h"

#include "baton/common/json.h"
#include "baton/common/logging.h"
#include "baton/net/http_client.h"

namespace baton::workers {

namespace {

// The web node's reason from a JsonError body ("error: detail"), or the raw body.
std::string Reason(const net::ClientResponse& r) {
  Json body = Json::parse(r.body, nullptr, false);
  if (!body.is_object()) return "HTTP " + std::to_string(r.status) + " " + r.body;
  std::string error = body.value("error", "");
  std::string detail = body.value("detail", "");
  return detail.empty() ? error : error + ": " + detail;
}

// " (still running: a, b; finished, result not yet taken: c)" for the registration line.
std::string HeldSteps(const Json& held) {
  auto list = [&](const char* key) {
    std::string out;
    for (const auto& id : held.is_object() ? held.value(key, Json::array()) : Json::array()) {
      if (!id.is_string()) continue;
      out += (out.empty() ? "" : ", ") + id.get<std::string>();
    }
    return out;
  };
  std::string running = list("running"), finished = list("finished");
  if (running.empty() && finished.empty()) return "";
  std::string out = " (";
  if (!running.empty()) out += "still running: " + running;
  if (!running.empty() && !finished.empty()) out += "; ";
  if (!finished.empty()) out += "finished, result not yet taken: " + finished;
  return out + ")";
}

}  // namespace

WebConnection::WebConnection(WebConnectionOptions options) : options_(std::move(options)) {}

Status WebConnection::Run() {
  net::ClientOptions client_options;
  client_options.ca_file = options_.ca_file;
  client_options.insecure_skip_verify = options_.insecure_skip_verify;
  client_options.request_timeout = std::chrono::seconds(20);
  std::chrono::milliseconds retry = options_.retry_min;
  while (true) {
    net::HttpClient client(client_options);
    bool fatal = false;
    Json held = options_.held_steps ? options_.held_steps() : Json::object();
    auto session = Register(client, held, fatal);
    if (!session.ok()) {
      if (fatal) return session.status();
      Event("cannot register with " + options_.web_url + " (" + session.status().ToString() +
            "); retrying in " + std::to_string(retry.count()) + " ms");
      if (!Sleep(retry)) return Status::Ok();
      retry = std::min(retry * 2, options_.retry_max);
      continue;
    }
    retry = options_.retry_min;
    Event("registered with " + options_.web_url + " as " + options_.name + HeldSteps(held));
    if (options_.on_session) options_.on_session(*session);
    bool stopped = Heartbeat(client, *session);
    if (options_.on_session) options_.on_session("");
    if (stopped) {
      (void)Post(client, "/worker/v2/deregister", Json{{"session", *session}}.dump());
      Event("deregistered from " + options_.web_url);
      return Status::Ok();
    }
    SetState("connecting");
  }
}

Result<std::string> WebConnection::Register(net::HttpClient& client, const Json& held,
                                            bool& fatal) {
  Json body = {{"protocol", kWorkerProtocol},    {"name", options_.name},
               {"platform", options_.platform},  {"tags", options_.tags},
               {"team", options_.team},          {"capacity", options_.capacity},
               {"version", options_.version},    {"hostname", options_.hostname},
               {"isolation", options_.isolation}};
  // The steps this worker still runs or has results of: the web node adopts them.
  body["running"] = held.is_object() ? held.value("running", Json::array()) : Json::array();
  body["finished"] = held.is_object() ? held.value("finished", Json::array()) : Json::array();
  BATON_ASSIGN_OR_RETURN(auto reply, Post(client, "/worker/v2/register", body.dump()));
  if (reply.status != 200) {
    // 4xx: the web node refused this worker as it is (key, protocol, name); retrying the same
    // request cannot help. 5xx: the web node has trouble of its own; try again.
    fatal = reply.status >= 400 && reply.status < 500;
    return FailedPrecondition("the web node at " + options_.web_url +
                              " refused to register worker " + options_.name + ": " +
                              Reason(reply));
  }
  Json answer = Json::parse(reply.body, nullptr, false);
  std::string session = answer.is_object() ? answer.value("session", "") : "";
  if (session.empty()) return Internal("the web node's answer to register has no session");
  heartbeat_every_ = std::chrono::milliseconds(answer.value("heartbeat_every_ms", 10'000));
  SetState("running");
  return session;
}

bool WebConnection::Heartbeat(net::HttpClient& client, const std::string& session) {
  while (Sleep(heartbeat_every_)) {
    Json body = {
        {"session", session},
        {"active_containers", options_.active_containers ? options_.active_containers() : 0},
        {"active_tasks", options_.active_tasks ? options_.active_tasks() : 0}};
    auto reply = Post(client, "/worker/v2/heartbeat", body.dump());
    if (!reply.ok()) {
      Event("lost the web node at " + options_.web_url + " (" + reply.status().ToString() +
            "); registering again");
      return false;
    }
    if (reply->status != 200) {
      Event("the web node ended this worker's session (" + Reason(*reply) + "); registering again");
      return false;
    }
    Json answer = Json::parse(reply->body, nullptr, false);
    std::string state = answer.is_object() ? answer.value("state", "running") : "running";
    SetState(state);
    // Landing or retiring (`baton land-worker`, `retire-worker`): no new steps come; leave once
    // the running ones are done.
    bool idle = !options_.active_containers || options_.active_containers() == 0;
    if (state == "landing" && idle) {
      Event("landed: no steps left to run; leaving " + options_.web_url);
      return true;
    }
    if (state == "retiring" && idle) {
      Event("retired: no steps left to run; leaving " + options_.web_url + " for good");
      return true;
    }
  }
  return true;
}

Result<net::ClientResponse> WebConnection::Post(net::HttpClient& client, const std::string& path,
                                                const std::string& body) {
  net::Headers headers;
  headers.Set("Authorization", "Bearer " + options_.key);
  return client.Post(options_.web_url + path, body, headers);
}

bool WebConnection::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [this] { return stopped_; });
  return !stopped_;
}

void WebConnection::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  wake_.notify_all();
}

std::string WebConnection::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

void WebConnection::SetState(std::string state) {
  std::lock_guard lock(mu_);
  state_ = std::move(state);
}

void WebConnection::Event(const std::string& text) {
  if (options_.on_event) {
    options_.on_event(text);
  } else {
    ModuleLogger("workers")->info("{}", text);
  }
}

}  // namespace baton::workers
