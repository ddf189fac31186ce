// WebConnection: a `baton worker`'s link to its web node (docs/workers.md). It connects out
// (so a worker behind NAT works), registers with its key, name, tags and team, then heartbeats
// with its active step counts at the interval the web node asks for. When the web node goes
// away or forgets the session (it restarted), it registers again, retrying with backoff; a
// refusal that retrying cannot fix (an unknown key, another protocol version, a bad name) ends
// Run() with the web node's words.
//
//   WebConnection link(options);
//   std::thread t([&] { status = link.Run(); });   // ... link.Stop(); t.join();
//
// Thread-safety: Run on one thread; Stop and state() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "baton/common/json.h"
#include "baton/common/status.h"

namespace baton::net {
class HttpClient;
struct ClientResponse;
}  // namespace baton::net

namespace baton::workers {

// The worker protocol version this worker speaks.
inline constexpr int kWorkerProtocol = 2;

struct WebConnectionOptions {
  std::string web_url;  // "http(s)://host:port"
  std::string key;      // the worker key (sent as a bearer token to /worker/v2 only)
  std::string name;
  std::vector<std::string> tags;
  std::string team;  // "" = any team
  int capacity = 0;
  std::string platform = "linux";
  std::string version;
  std::string hostname;
  std::string isolation;
  std::string ca_file;                // https: trust this PEM bundle instead of the system's
  bool insecure_skip_verify = false;  // https: accept any certificate
  // Waits between attempts to reach the web node: doubling from `retry_min` up to `retry_max`.
  std::chrono::milliseconds retry_min{500};
  std::chrono::milliseconds retry_max{10'000};
  // Counts reported with each heartbeat (may be empty: zeros).
  std::function<int()> active_containers;
  std::function<int()> active_tasks;
  // The steps the worker holds, sent with each registration so that a web node that restarted
  // (or lost the session) adopts them: {"running": [id..], "finished": [id..]}. May be empty.
  std::function<Json()> held_steps;
  // Told of each new session (after registering) and of its loss (""): WebStepRunner takes
  // work under it.
  std::function<void(const std::string& session)> on_session;
  // Told of each change worth a line in the worker's log ("registered with ...", "lost ...").
  std::function<void(const std::string&)> on_event;
};

class WebConnection {
 public:
  explicit WebConnection(WebConnectionOptions options);

  // Registers and heartbeats until Stop() (then deregisters: OK) or a refusal retrying cannot
  // fix (the error, with the web node's reason and what to do).
  Status Run();
  // Makes Run() deregister and return. Idempotent.
  void Stop();
  // "connecting", "running", or the state the web node last reported.
  std::string state() const;

 private:
  // One registration (reporting the steps in `held`): the session id, or an error (permanent when
  // `fatal` is set).
  Result<std::string> Register(net::HttpClient& client, const Json& held, bool& fatal);
  // Heartbeats until Stop() (true) or the session is lost (false).
  bool Heartbeat(net::HttpClient& client, const std::string& session);
  Result<net::ClientResponse> Post(net::HttpClient& client, const std::string& path,
                                   const std::string& body);
  // Waits `d` or until Stop(); returns false when stopped.
  bool Sleep(std::chrono::milliseconds d);
  void Event(const std::string& text);
  void SetState(std::string state);

  const WebConnectionOptions options_;
  std::chrono::milliseconds heartbeat_every_{10'000};
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopped_ = false;              // GUARDED_BY(mu_)
  std::string state_ = "connecting";  // GUARDED_BY(mu_)
};

}  // namespace baton::workers
