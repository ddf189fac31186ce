// Resource types that speak Concourse's resource protocol: /opt/resource/{check,in,out} run
// inside the type's rootfs through ResourceContext::run_process, with a JSON request on stdin
// and a JSON response on stdout; stderr is the step's log.
#include <atomic>

#include "baton/common/strings.h"
#include "baton/workers/resource_type.h"
#include "resources/resource_util.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using resources::LogLine;

constexpr const char* kGetMount = "/tmp/build/get";
constexpr const char* kPutMount = "/tmp/build/put";

std::string NextRunId(const char* action) {
  static std::atomic<uint64_t> counter{0};
  return std::string("resource-") + action + "-" + std::to_string(++counter);
}

std::string LastLines(const std::string& text, size_t max_lines) {
  std::vector<std::string> lines;
  for (const std::string& line : Split(text, '\n')) {
    if (!Trim(line).empty()) lines.push_back(std::string(Trim(line)));
  }
  if (lines.size() > max_lines) lines.erase(lines.begin(), lines.end() - max_lines);
  return Join(lines, " | ");
}

std::string Abbreviate(const std::string& s) { return s.size() > 200 ? s.substr(0, 200) + "…" : s; }

class ProtocolResourceType final : public ResourceType {
 public:
  ProtocolResourceType(RootfsSpec rootfs, bool privileged)
      : rootfs_(std::move(rootfs)), privileged_(privileged) {}

  Result<std::vector<Json>> Check(const ResourceContext& ctx, const Json& source,
                                  const Json& from) override {
    Json request{{"source", source}, {"version", from}};
    TaskRun run = BaseRun("check", request);
    BATON_ASSIGN_OR_RETURN(Json response, Execute(ctx, run, "check"));
    if (!response.is_array()) {
      return InvalidArgument("invalid JSON from check: expected an array of versions, got " +
                             Abbreviate(response.dump()));
    }
    std::vector<Json> versions;
    for (Json& v : response) {
      if (!v.is_object()) {
        return InvalidArgument("invalid JSON from check: each version must be an object, got " +
                               Abbreviate(v.dump()));
      }
      versions.push_back(std::move(v));
    }
    return versions;
  }

  Result<FetchedVersion> Get(const ResourceContext& ctx, const Json& source, const Json& version,
                             const Json& params, const std::string& dir) override {
    Json request{{"source", source}, {"version", version}, {"params", params}};
    TaskRun run = BaseRun("in", request);
    MountDir(&run, dir, kGetMount, ctx);
    BATON_ASSIGN_OR_RETURN(Json response, Execute(ctx, run, "in"));
    return ParseFetched(response, "in");
  }

  Result<FetchedVersion> Put(const ResourceContext& ctx, const Json& source, const Json& params,
                             const std::string& dir) override {
    Json request{{"source", source}, {"params", params}};
    TaskRun run = BaseRun("out", request);
    MountDir(&run, dir, kPutMount, ctx);
    BATON_ASSIGN_OR_RETURN(Json response, Execute(ctx, run, "out"));
    return ParseFetched(response, "out");
  }

 private:
  TaskRun BaseRun(const char* script, const Json& request) const {
    TaskRun run;
    run.id = NextRunId(script);
    run.path = std::string("/opt/resource/") + script;
    run.rootfs = rootfs_;
    run.privileged = privileged_;
    run.stdin_data = request.dump();
    run.capture_stdout = true;
    run.dir = "/";
    return run;
  }

  static void MountDir(TaskRun* run, const std::string& dir, const char* mount,
                       const ResourceContext& ctx) {
    run->mounts.push_back(VolumeMount{fs::absolute(dir).string(), mount, true});
    run->args.push_back(mount);
    run->dir = mount;
    run->env = ctx.env;
  }

  static Result<Json> Execute(const ResourceContext& ctx, const TaskRun& run, const char* action) {
    if (!ctx.run_process) {
      return FailedPrecondition(std::string("resource ") + action +
                                ": this worker cannot run resource scripts (no process runner)");
    }
    TaskResult result = ctx.run_process(run);
    if (!result.error.ok()) {
      return Status(result.error.code(),
                    "resource script " + run.path + " could not run: " + result.error.message());
    }
    if (result.exit_code != 0) {
      std::string why = LastLines(result.stderr_tail, 3);
      if (result.oom_killed) why = "killed: out of memory (raise the type's memory limit)";
      return FailedPrecondition("resource script " + run.path + " exited " +
                                std::to_string(result.exit_code) +
                                (why.empty() ? ": see the step's log" : ": " + why));
    }
    Json response = Json::parse(result.stdout_data, nullptr, /*allow_exceptions=*/false);
    if (response.is_discarded()) {
      LogLine(ctx, "stdout of " + run.path + ": " + Abbreviate(result.stdout_data));
      return InvalidArgument(std::string("invalid JSON from ") + action + ": '" +
                             Abbreviate(result.stdout_data) +
                             "' (the script must print only its JSON response on stdout; log to "
                             "stderr)");
    }
    return response;
  }

  static Result<FetchedVersion> ParseFetched(const Json& response, const char* action) {
    if (!response.is_object() || !response.contains("version") ||
        !response["version"].is_object()) {
      return InvalidArgument(std::string("invalid JSON from ") + action +
                             ": expected {version: {...}, metadata: [...]}, got " +
                             Abbreviate(response.dump()));
    }
    FetchedVersion out{response["version"], {}};
    const Json& metadata = response.value("metadata", Json::array());
    if (!metadata.is_array()) {
      return InvalidArgument(std::string("invalid JSON from ") + action +
                             ": metadata must be a list of {name, value}");
    }
    for (const Json& m : metadata) {
      if (!m.is_object()) continue;
      Json value = m.value("value", Json(""));
      out.metadata.push_back({m.value("name", std::string()),
                              value.is_string() ? value.get<std::string>() : value.dump()});
    }
    return out;
  }

  const RootfsSpec rootfs_;
  const bool privileged_;
};

}  // namespace

std::unique_ptr<ResourceType> MakeProtocolResourceType(RootfsSpec rootfs, bool privileged) {
  return std::make_unique<ProtocolResourceType>(std::move(rootfs), privileged);
}

}  // namespace baton::workers
