// JSON forms of steps and results for worker protocol v2. Readers catch nlohmann's exceptions
// (a malformed message is a value, not a throw across the module).
#include "baton/workers/step_wire.h"

#include <charconv>

namespace baton::workers::wire {

namespace {

Json ToJson(const RootfsSpec& rootfs) {
  switch (rootfs.kind) {
    case RootfsSpec::Kind::kHost:
      return {{"kind", "host"}, {"path", ""}};
    case RootfsSpec::Kind::kDirectory:
      return {{"kind", "directory"}, {"path", rootfs.path}};
    case RootfsSpec::Kind::kImage:  // the worker fetches it into its own image cache
      return {{"kind", "image"}, {"source", rootfs.image_source}, {"digest", rootfs.image_digest}};
  }
  return {{"kind", "host"}};
}

RootfsSpec RootfsFromJson(const Json& json) {
  RootfsSpec rootfs;
  const std::string kind = json.at("kind");
  if (kind == "host") return rootfs;
  if (kind == "image") {
    rootfs.kind = RootfsSpec::Kind::kImage;
    rootfs.image_source = json.at("source");
    rootfs.image_digest = json.at("digest");
    return rootfs;
  }
  if (kind != "directory") throw std::invalid_argument("unknown rootfs kind '" + kind + "'");
  rootfs.kind = RootfsSpec::Kind::kDirectory;
  rootfs.path = json.value("path", "");
  return rootfs;
}

Json OptionalInt(const std::optional<int64_t>& value) { return value ? Json(*value) : Json(); }

std::optional<int64_t> IntOrNone(const Json& json, const char* key) {
  if (!json.contains(key) || json[key].is_null()) return std::nullopt;
  return json[key].get<int64_t>();
}

Json TaskToJson(const TaskRun& run) {
  Json mounts = Json::array();
  for (const auto& m : run.mounts) {
    mounts.push_back(
        {{"host", m.host_path}, {"sandbox", m.sandbox_path}, {"writable", m.writable}});
  }
  return {{"id", run.id},
          {"path", run.path},
          {"args", run.args},
          {"dir", run.dir},
          {"user", run.user},
          {"env", run.env},
          {"rootfs", ToJson(run.rootfs)},
          {"work_dir", run.work_dir},
          {"work_mount", run.work_mount},
          {"mounts", mounts},
          {"network", run.network},
          {"network_scope", run.network_scope},
          {"privileged", run.privileged},
          {"memory", OptionalInt(run.limits.memory_bytes)},
          {"cpu", OptionalInt(run.limits.cpu_shares)},
          {"pids", OptionalInt(run.limits.max_pids)},
          {"hostname", run.hostname},
          {"stdin", run.stdin_data ? Json(*run.stdin_data) : Json()},
          {"capture_stdout", run.capture_stdout}};
}

TaskRun TaskFromJson(const Json& json) {
  TaskRun run;
  run.id = json.at("id");
  run.path = json.at("path");
  run.args = json.at("args").get<std::vector<std::string>>();
  run.dir = json.value("dir", "");
  run.user = json.value("user", "");
  run.env = json.at("env").get<std::map<std::string, std::string>>();
  run.rootfs = RootfsFromJson(json.at("rootfs"));
  run.work_dir = json.at("work_dir");
  run.work_mount = json.value("work_mount", "");
  for (const auto& m : json.at("mounts")) {
    run.mounts.push_back({m.at("host"), m.at("sandbox"), m.value("writable", true)});
  }
  run.network = json.value("network", true);
  run.network_scope = json.value("network_scope", "");
  run.privileged = json.value("privileged", false);
  run.limits.memory_bytes = IntOrNone(json, "memory");
  run.limits.cpu_shares = IntOrNone(json, "cpu");
  run.limits.max_pids = IntOrNone(json, "pids");
  run.hostname = json.value("hostname", "");
  if (json.contains("stdin") && json["stdin"].is_string()) run.stdin_data = json["stdin"];
  run.capture_stdout = json.value("capture_stdout", false);
  return run;
}

const char* ActionName(ResourceRun::Action action) {
  switch (action) {
    case ResourceRun::Action::kCheck:
      return "check";
    case ResourceRun::Action::kGet:
      return "get";
    case ResourceRun::Action::kPut:
      return "put";
  }
  return "check";
}

ResourceRun::Action ActionFromName(const std::string& name) {
  if (name == "get") return ResourceRun::Action::kGet;
  if (name == "put") return ResourceRun::Action::kPut;
  if (name == "check") return ResourceRun::Action::kCheck;
  throw std::invalid_argument("unknown resource action '" + name + "'");
}

Json ResourceToJson(const ResourceRun& run) {
  return {{"id", run.id},
          {"action", ActionName(run.action)},
          {"type", run.type},
          {"custom_type_rootfs", run.custom_type_rootfs ? ToJson(*run.custom_type_rootfs) : Json()},
          {"custom_type_image", run.custom_type_image},
          {"custom_type_check_every_ns",
           run.custom_type_check_every ? Json(run.custom_type_check_every->count()) : Json()},
          {"source", run.source},
          {"version", run.version},
          {"params", run.params},
          {"dir", run.dir},
          {"env", run.env},
          {"privileged", run.privileged},
          {"for_image", run.for_image}};
}

ResourceRun ResourceFromJson(const Json& json) {
  ResourceRun run;
  run.id = json.at("id");
  run.action = ActionFromName(json.at("action"));
  run.type = json.at("type");
  if (json.contains("custom_type_rootfs") && json["custom_type_rootfs"].is_object()) {
    run.custom_type_rootfs = RootfsFromJson(json["custom_type_rootfs"]);
  }
  run.custom_type_image = json.value("custom_type_image", Json());
  if (auto every = json.find("custom_type_check_every_ns"); every != json.end()) {
    run.custom_type_check_every =
        every->is_null() ? std::nullopt : std::optional<Duration>(Duration(every->get<int64_t>()));
  }
  run.source = json.value("source", Json::object());
  run.version = json.value("version", Json());
  run.params = json.value("params", Json::object());
  run.dir = json.value("dir", "");
  run.env = json.at("env").get<std::map<std::string, std::string>>();
  run.privileged = json.value("privileged", false);
  run.for_image = json.value("for_image", false);
  return run;
}

const char* StreamName(OutputStream s) {
  switch (s) {
    case OutputStream::kStdout:
      return "out";
    case OutputStream::kStderr:
      return "err";
    case OutputStream::kSystem:
      return "sys";
  }
  return "out";
}

OutputStream StreamFromName(const std::string& name) {
  if (name == "err") return OutputStream::kStderr;
  if (name == "sys") return OutputStream::kSystem;
  return OutputStream::kStdout;
}

template <typename Fn>
auto Parsing(const char* what, Fn fn) -> Result<decltype(fn())> {
  try {
    return fn();
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed ") + what +
                           " in a worker protocol message: " + e.what());
  }
}

}  // namespace

std::string VolumeRef(int index) { return "vol:" + std::to_string(index); }

std::optional<int> VolumeIndex(const std::string& path) {
  if (path.rfind("vol:", 0) != 0) return std::nullopt;
  int index = -1;
  const char* begin = path.data() + 4;
  const char* end = path.data() + path.size();
  auto [ptr, ec] = std::from_chars(begin, end, index);
  if (ec != std::errc() || ptr != end || begin == end || index < 0) return std::nullopt;
  return index;
}

Json ToJson(const Step& step) {
  Json volumes = Json::array();
  for (const auto& v : step.volumes) {
    volumes.push_back(
        {{"index", v.index}, {"key", v.key}, {"digest", v.digest}, {"writable", v.writable}});
  }
  Json puts = Json::array();
  for (const auto& p : step.put_inputs) puts.push_back({{"name", p.name}, {"volume", p.volume}});
  Json out = {{"id", step.id}, {"volumes", volumes}, {"put_inputs", puts}};
  if (step.kind == Step::Kind::kTask) {
    out["task"] = TaskToJson(step.task);
  } else {
    out["resource"] = ResourceToJson(step.resource);
  }
  return out;
}

Result<Step> StepFromJson(const Json& json) {
  return Parsing("step", [&] {
    Step step;
    step.id = json.at("id");
    if (json.contains("task")) {
      step.kind = Step::Kind::kTask;
      step.task = TaskFromJson(json["task"]);
    } else {
      step.kind = Step::Kind::kResource;
      step.resource = ResourceFromJson(json.at("resource"));
    }
    for (const auto& v : json.at("volumes")) {
      step.volumes.push_back(
          {v.at("index"), v.at("key"), v.at("digest"), v.value("writable", true)});
    }
    for (const auto& p : json.value("put_inputs", Json::array())) {
      step.put_inputs.push_back({p.at("name"), p.at("volume")});
    }
    return step;
  });
}

Json ToJson(const Status& status) {
  if (status.ok()) return Json();
  return {{"code", static_cast<int>(status.code())}, {"message", status.message()}};
}

Status StatusFromJson(const Json& json) {
  if (!json.is_object()) return Status::Ok();
  int code = json.value("code", static_cast<int>(StatusCode::kInternal));
  if (code <= 0 || code > static_cast<int>(StatusCode::kInternal)) {
    code = static_cast<int>(StatusCode::kInternal);
  }
  return Status(static_cast<StatusCode>(code), json.value("message", "unknown worker error"));
}

Json ToJson(const TaskResult& result) {
  return {
      {"exit_code", result.exit_code},
      {"oom_killed", result.oom_killed},
      {"error", ToJson(result.error)},
      {"elapsed_ms", std::chrono::duration_cast<std::chrono::milliseconds>(result.elapsed).count()},
      {"stdout", result.stdout_data},
      {"stderr_tail", result.stderr_tail}};
}

Result<TaskResult> TaskResultFromJson(const Json& json) {
  return Parsing("task result", [&] {
    TaskResult result;
    result.exit_code = json.at("exit_code");
    result.oom_killed = json.value("oom_killed", false);
    result.error = StatusFromJson(json.value("error", Json()));
    result.elapsed = std::chrono::milliseconds(json.value("elapsed_ms", int64_t{0}));
    result.stdout_data = json.value("stdout", "");
    result.stderr_tail = json.value("stderr_tail", "");
    return result;
  });
}

Json ToJson(const ResourceResult& result) {
  Json metadata = Json::array();
  for (const auto& m : result.metadata) metadata.push_back({{"name", m.name}, {"value", m.value}});
  return {{"error", ToJson(result.error)},
          {"versions", result.versions},
          {"version", result.version},
          {"metadata", metadata}};
}

Result<ResourceResult> ResourceResultFromJson(const Json& json) {
  return Parsing("resource result", [&] {
    ResourceResult result;
    result.error = StatusFromJson(json.value("error", Json()));
    result.versions = json.value("versions", Json::array()).get<std::vector<Json>>();
    result.version = json.value("version", Json());
    for (const auto& m : json.value("metadata", Json::array())) {
      result.metadata.push_back({m.at("name"), m.at("value")});
    }
    return result;
  });
}

Json LinesToJson(const std::vector<OwnedLine>& lines) {
  Json out = Json::array();
  for (const auto& l : lines) {
    int64_t ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(l.time.time_since_epoch()).count();
    out.push_back({{"t", ns}, {"s", StreamName(l.stream)}, {"x", l.text}});
  }
  return out;
}

Result<std::vector<OwnedLine>> LinesFromJson(const Json& json) {
  return Parsing("output", [&] {
    std::vector<OwnedLine> lines;
    for (const auto& l : json) {
      OwnedLine line;
      line.time = SystemTime(std::chrono::duration_cast<SystemTime::duration>(
          std::chrono::nanoseconds(l.at("t").get<int64_t>())));
      line.stream = StreamFromName(l.at("s"));
      line.text = l.at("x");
      lines.push_back(std::move(line));
    }
    return lines;
  });
}

}  // namespace baton::workers::wire
