#include "baton/runner/pipeline_update.h"

#include <cstdio>

namespace baton::runner {

std::string SourceHash(const std::string& type, const Json& source) {
  std::string text = type + "\n" + source.dump();  // nlohmann dumps object keys sorted
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

PipelineUpdate MakePipelineUpdate(const std::string& team, const std::string& name,
                                  const std::string& yaml, const pipelines::Vars& vars,
                                  const pipelines::PipelineConfig& config) {
  PipelineUpdate update;
  update.team = team;
  update.name = name;
  update.yaml = yaml;
  for (const auto& [key, value] : vars.values()) update.vars[key] = value;
  for (const auto& job : config.jobs) {
    update.jobs.push_back({job.name, job.old_name, Json{{"serial", job.serial}}});
  }
  for (const auto& r : config.resources) {
    update.resources.push_back(
        {r.name, r.old_name, r.type, SourceHash(r.type, r.source), Json{{"type", r.type}}});
  }
  return update;
}

}  // namespace baton::runner
