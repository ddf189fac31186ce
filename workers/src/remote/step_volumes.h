// The worker side of one step's exchanges with the web node (StepLink), and the volumes this
// worker holds (HeldVolumes): a volume is kept under <work-dir>/volumes/<hash of its key>, with
// the digest it had when fetched or sent, so a later step naming the same key with the same
// digest uses it without fetching.
//
// Thread-safety: a StepLink belongs to its step's thread. HeldVolumes is thread-safe; steps
// naming the same volume fetch it one at a time.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "baton/common/json.h"
#include "baton/common/status.h"
#include "baton/net/http_client.h"
#include "baton/workers/step_wire.h"
#include "baton/workers/web_step_runner.h"

namespace baton::workers {

// How a step's link finds the worker's session with the web node (WebStepRunner's).
struct StepSessions {
  // The current session once it is not `stale` ("" = any), waiting until `until`; "" at the
  // deadline or when the worker stops.
  std::function<std::string(const std::string& stale, std::chrono::steady_clock::time_point until)>
      await;
  std::function<bool()> stopped;
};

class StepLink {
 public:
  StepLink(const WebStepRunnerOptions& options, StepSessions sessions, std::string session,
           std::string step);

  // Each exchange is retried while the web node is away (connection errors, 5xx, "unknown
  // session": it restarted), under the worker's next session, for up to options.keep_for.
  // kNotFound when the web node says the step is not this worker's (any more).
  Status SendOutput(const Json& lines);
  Status SendResult(const Json& result, const Json& changed_volumes);
  // Volume `index`'s stream from `offset`: the bytes and the stream's total size.
  Result<std::pair<std::string, uint64_t>> ReadVolume(int index, uint64_t offset);
  Status WriteVolume(int index, uint64_t offset, std::string bytes);
  const std::string& step() const { return step_; }
  // The session of the last exchange that went through (a new one after the web node restarted).
  std::string session() const;

 private:
  using Send = std::function<Result<net::ClientResponse>(const std::string& session)>;
  Result<net::ClientResponse> Exchange(const std::string& what, const Send& send);
  std::string Url(const std::string& tail) const;
  std::string VolumeUrl(int index, uint64_t offset, const std::string& session) const;

  const WebStepRunnerOptions& options_;
  const StepSessions sessions_;
  const std::string step_;
  net::Headers headers_;
  net::HttpClient client_;         // the step's thread: volumes and the result
  net::HttpClient output_client_;  // the OutputBatcher's thread
  mutable std::mutex mu_;
  std::string session_;   // GUARDED_BY(mu_)
  bool gave_up_ = false;  // GUARDED_BY(mu_): the web node stayed away past keep_for
};

class HeldVolumes {
 public:
  explicit HeldVolumes(std::string work_dir);

  // This worker's directory for `volume`, fetched through `link` unless already held.
  Result<std::string> Fetch(const wire::StepVolume& volume, StepLink& link);
  // Sends `dir` (volume `volume` of the link's step, now with `digest`) back to the web node.
  Status Send(const wire::StepVolume& volume, const std::string& dir, const std::string& digest,
              StepLink& link);
  // A fresh directory for a put with a link per input name to its volume's directory.
  Result<std::string> PutDirectory(const wire::Step& step, const std::vector<std::string>& dirs);

 private:
  std::string DirOf(const std::string& key) const;
  std::shared_ptr<std::mutex> LockOf(const std::string& key);

  const std::string work_dir_;
  std::mutex mu_;
  std::map<std::string, std::string> digests_;                // GUARDED_BY(mu_), by key
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;  // GUARDED_BY(mu_), by key
};

}  // namespace baton::workers
