// WebStepRunner: the part of `baton worker` that runs the steps a web node hands it (worker
// protocol v2, docs/workers.md). It long-polls the web node for work under the session its
// WebConnection registered, and runs each step on a thread of its own:
//
//   1. fetches the step's volumes it does not already hold (the same key with the same digest
//      is used as it is) and unpacks them under <work-dir>/volumes;
//   2. runs the step on the local worker (its sandbox, its caches), sending the output back in
//      batches with back-pressure (OutputBatcher);
//   3. sends back each writable volume whose digest changed, then the result.
//
// A cancel from the web node cancels the step (its result still goes back).
//
// While the web node is away (it restarted, or the network failed), running steps go on: their
// output waits (the task blocks once 1 MiB is buffered) and a finished step keeps its result
// until the web node acknowledges it. Every exchange of a step is retried under the worker's
// next session (WebConnection registers again and reports Steps()), for up to `keep_for`; a
// web node that answers that the step is no longer this worker's ends it for good.
//
// Thread-safety: SetSession, Stop and active_steps from any thread; Run on one thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "baton/common/json.h"
#include "baton/common/status.h"
#include "baton/workers/worker.h"

namespace baton::workers {

struct WebStepRunnerOptions {
  std::string web_url;   // "http(s)://host:port"
  std::string key;       // the worker key
  std::string work_dir;  // volumes/ and spool/ live here
  std::string ca_file;
  bool insecure_skip_verify = false;
  Worker* worker = nullptr;  // runs the steps; must outlive the runner
  // How long one poll waits at the web node for work.
  std::chrono::milliseconds poll_wait{20'000};
  // How long a step's output and result wait for the web node to come back.
  std::chrono::milliseconds keep_for{std::chrono::minutes(10)};
  std::function<void(const std::string&)> on_event;  // a line for the worker's log
};

class WebStepRunner {
 public:
  explicit WebStepRunner(WebStepRunnerOptions options);
  // Cancels the running steps and waits for their threads.
  ~WebStepRunner();
  WebStepRunner(const WebStepRunner&) = delete;
  WebStepRunner& operator=(const WebStepRunner&) = delete;

  // The session to take work under ("" while not registered).
  void SetSession(const std::string& session);
  // Polls for work and starts steps until Stop().
  void Run();
  void Stop();
  int active_steps() const;
  // The steps this worker holds, for its registration: {"running": [id..], "finished": [id..]}
  // (finished: the result waits for the web node's acknowledgement).
  Json Steps() const;

  class Step;  // one step being run

 private:
  void StartStep(const std::string& session, const Json& step);
  void CancelStep(const std::string& id, Duration grace);
  void Reap();
  std::string WaitForSession();
  // The current session once it is not `stale` ("" = any), waiting until `until`; "" at the
  // deadline or when stopped.
  std::string AwaitSession(const std::string& stale, std::chrono::steady_clock::time_point until);

  const WebStepRunnerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::string session_;   // GUARDED_BY(mu_)
  bool stopped_ = false;  // GUARDED_BY(mu_)
  struct Running {
    std::shared_ptr<Step> step;
    std::thread thread;
  };
  std::map<std::string, Running> running_;  // GUARDED_BY(mu_), by step id
  std::vector<std::string> finished_;       // GUARDED_BY(mu_): threads to join
  std::shared_ptr<class HeldVolumes> held_;
};

}  // namespace baton::workers
