// The JSON forms in which steps and their results travel between a web node and a `baton
// worker` (worker protocol v2, docs/workers.md).
//
// A step leaves the web node with its host paths replaced by volume references ("vol:N", see
// VolumeRef): the web node's directories mean nothing on the worker, which fetches each volume
// it does not already hold and puts its own directory in place of the reference.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "baton/common/json.h"
#include "baton/common/status.h"
#include "baton/workers/output.h"
#include "baton/workers/worker.h"

namespace baton::workers::wire {

// The worker protocol version of these forms.
inline constexpr int kProtocol = 2;

// "vol:N" for volume N of a step; VolumeIndex reads one back (nullopt: not a reference).
std::string VolumeRef(int index);
std::optional<int> VolumeIndex(const std::string& path);

// One volume a step mounts: `key` names the web node's directory (the same key, the same
// volume), `digest` is VolumeDigest of its content when the step was handed out, and a
// writable volume's changes travel back when the step ends.
struct StepVolume {
  int index = 0;
  std::string key;
  std::string digest;
  bool writable = true;
};

// A put's inputs: the put's directory holds one link per artifact name to that volume.
struct PutInput {
  std::string name;
  int volume = 0;
};

struct Step {
  std::string id;  // the dispatch id the worker reports under
  enum class Kind { kTask, kResource } kind = Kind::kTask;
  TaskRun task;          // kTask, paths as volume references
  ResourceRun resource;  // kResource, paths as volume references
  std::vector<StepVolume> volumes;
  std::vector<PutInput> put_inputs;
};

Json ToJson(const Step& step);
Result<Step> StepFromJson(const Json& json);

Json ToJson(const TaskResult& result);
Result<TaskResult> TaskResultFromJson(const Json& json);
Json ToJson(const ResourceResult& result);
Result<ResourceResult> ResourceResultFromJson(const Json& json);

// A Status as {"code", "message"} (null when OK) and back.
Json ToJson(const Status& status);
Status StatusFromJson(const Json& json);

// Output lines as [{"t": unix ns, "s": "out"|"err"|"sys", "x": text}]; text that is not UTF-8
// has its bad bytes replaced.
struct OwnedLine {
  SystemTime time;
  OutputStream stream = OutputStream::kStdout;
  std::string text;
};
Json LinesToJson(const std::vector<OwnedLine>& lines);
Result<std::vector<OwnedLine>> LinesFromJson(const Json& json);

}  // namespace baton::workers::wire
