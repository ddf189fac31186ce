#include "baton/runner/commands.h"

#include <array>
#include <utility>

namespace baton::runner {

namespace {

using Kind = PipelineChange::Kind;
constexpr std::array<std::pair<Kind, const char*>, 9> kKinds = {{
    {Kind::kConfig, "config"},
    {Kind::kPaused, "paused"},
    {Kind::kPublic, "public"},
    {Kind::kJobPaused, "job-paused"},
    {Kind::kPin, "pin"},
    {Kind::kDestroyed, "destroyed"},
    {Kind::kBuildQueued, "build-queued"},
    {Kind::kAbort, "abort"},
    {Kind::kVersions, "versions"},
}};

std::string Num(Id id) { return std::to_string(id); }

}  // namespace

const char* ToString(PipelineChange::Kind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "unknown";
}

Json ToJson(const PipelineChange& change) {
  return Json{{"kind", ToString(change.kind)},
              {"pipeline_id", change.pipeline_id},
              {"config_version", change.config_version},
              {"build_id", change.build_id}};
}

Result<PipelineChange> PipelineChangeFromJson(const Json& json) {
  const char* expected =
      "a pipeline change must be {\"kind\": \"config|paused|public|job-paused|pin|destroyed|"
      "build-queued|abort|versions\", \"pipeline_id\": <id>, \"config_version\": <n>, "
      "\"build_id\": <id>}";
  if (!json.is_object() || !json.contains("kind") || !json["kind"].is_string() ||
      !json.contains("pipeline_id") || !json["pipeline_id"].is_number_integer()) {
    return InvalidArgument(std::string(expected) + "; got " + json.dump());
  }
  PipelineChange change;
  change.pipeline_id = json["pipeline_id"].get<Id>();
  if (json.contains("config_version") && json["config_version"].is_number_integer()) {
    change.config_version = json["config_version"].get<int64_t>();
  }
  if (json.contains("build_id") && json["build_id"].is_number_integer()) {
    change.build_id = json["build_id"].get<Id>();
  }
  const std::string kind = json["kind"].get<std::string>();
  for (const auto& [k, name] : kKinds) {
    if (kind == name) {
      change.kind = k;
      return change;
    }
  }
  return InvalidArgument("unknown pipeline change kind `" + kind + "`: " + expected);
}

std::string Describe(const Command& command) {
  struct Visitor {
    std::string operator()(const commands::SetPipeline& c) const {
      return "set-pipeline " + c.update.team + "/" + c.update.name;
    }
    std::string operator()(const commands::PausePipeline& c) const {
      return (c.paused ? "pause-pipeline " : "unpause-pipeline ") + Num(c.pipeline_id);
    }
    std::string operator()(const commands::ExposePipeline& c) const {
      return (c.exposed ? "expose-pipeline " : "hide-pipeline ") + Num(c.pipeline_id);
    }
    std::string operator()(const commands::DestroyPipeline& c) const {
      return "destroy-pipeline " + c.team + "/" + c.name;
    }
    std::string operator()(const commands::PauseJob& c) const {
      return (c.paused ? "pause-job " : "unpause-job ") + Num(c.job_id);
    }
    std::string operator()(const commands::PinVersion& c) const {
      if (!c.version_id) return "unpin-resource " + Num(c.resource_id);
      return "pin-version resource " + Num(c.resource_id) + " -> version " + Num(c.version_id);
    }
    std::string operator()(const commands::TriggerJob& c) const {
      return "trigger-job " + Num(c.pipeline_id) + "/" + c.job;
    }
    std::string operator()(const commands::RerunBuild& c) const {
      return "rerun-build " + Num(c.build_id);
    }
    std::string operator()(const commands::AbortBuild& c) const {
      return "abort-build " + Num(c.build_id);
    }
    std::string operator()(const commands::Refresh& c) const {
      return std::string("refresh-pipeline ") + Num(c.change.pipeline_id) + " (" +
             ToString(c.change.kind) + ")";
    }
  };
  return std::visit(Visitor{}, command);
}

}  // namespace baton::runner
