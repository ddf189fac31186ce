#include "baton/runner/build_recorder.h"

#include "baton/common/logging.h"

namespace baton::runner {

Json StepInfoJson(const StepInfo& step) {
  Json j = {{"id", step.id}, {"name", step.name}, {"type", step.type}, {"path", step.path}};
  if (step.attempt > 1) j["attempt"] = step.attempt;
  if (!step.hook.empty()) j["hook"] = step.hook;
  if (!step.across.empty()) j["across"] = step.across;
  return j;
}

BuildRecorder::BuildRecorder(Stores stores, Build build, Options options)
    : stores_(stores), build_(std::move(build)), options_(std::move(options)) {}

void BuildRecorder::Note(const Status& status) {
  if (status.ok() || !store_error_.empty()) return;
  store_error_ = status.ToString();
  ModuleLogger("runner")->error("build {}: cannot record: {}", build_.id, store_error_);
}

void BuildRecorder::Append(BuildEvent event) {
  std::vector<BuildEvent> events;
  events.push_back(std::move(event));
  Append(std::move(events));
}

void BuildRecorder::Append(std::vector<BuildEvent> events) {
  auto appended = stores_.events.AppendEvents(build_.id, std::move(events));
  if (!appended.ok()) Note(appended.status());
}

void BuildRecorder::OnStatus(BuildStatus status, SystemTime time) {
  Append({0, time, "", "status", "", ToString(status)});
  if (status == BuildStatus::kStarted && build_.status == BuildStatus::kPending) {
    // (The scheduler claims its builds before they run: they come here started.)
    auto started = stores_.builds.StartBuild(build_.id);
    if (started.ok()) build_ = *started;
    Note(started.status());
  } else if (IsFinished(status)) {
    if (!outputs_.empty()) Note(stores_.builds.SaveBuildOutputs(build_.id, outputs_));
    auto finished = stores_.builds.FinishBuild(build_.id, status, first_error_);
    if (finished.ok()) build_ = *finished;
    Note(finished.status());
  }
  if (options_.forward) options_.forward->OnStatus(status, time);
}

void BuildRecorder::OnStepStarted(const StepInfo& step, SystemTime time) {
  Append({0, time, step.id, "step-start", "", StepInfoJson(step).dump()});
  if (options_.forward) options_.forward->OnStepStarted(step, time);
}

void BuildRecorder::OnStepFinished(const StepFinished& finished, SystemTime time) {
  Json payload = StepInfoJson(finished.step);
  payload["status"] = ToString(finished.status);
  if (!finished.message.empty()) payload["message"] = finished.message;
  if (finished.exit_code >= 0) payload["exit_code"] = finished.exit_code;
  Append({0, time, finished.step.id, "step-finish", "", payload.dump()});
  if (finished.status == BuildStatus::kErrored && first_error_.empty()) {
    first_error_ = finished.step.name + ": " + finished.message;
  }
  if (options_.forward) options_.forward->OnStepFinished(finished, time);
}

void BuildRecorder::OnLog(const StepInfo& step, workers::OutputStream stream, SystemTime time,
                          std::string_view line) {
  Append({0, time, step.id, "log", workers::ToString(stream), std::string(line)});
  if (options_.forward) options_.forward->OnLog(step, stream, time, line);
}

void BuildRecorder::OnLogs(const StepInfo& step, std::span<LogLine> lines) {
  // The forward reads the texts first: the store then takes them without a copy (LogLine).
  if (options_.forward) options_.forward->OnLogs(step, lines);
  // One store append (and one wake-up of its writer) per run of lines of one stream and time (a
  // batch is one read of the task's output: the same time throughout).
  for (size_t i = 0; i < lines.size();) {
    const workers::OutputStream stream = lines[i].stream;
    const SystemTime time = lines[i].time;
    LogLines run{step.id, workers::ToString(stream), time, {}};
    for (; i < lines.size() && lines[i].stream == stream && lines[i].time == time; ++i) {
      run.Add(std::move(lines[i].text));
    }
    auto appended = stores_.events.AppendLogLines(build_.id, std::move(run));
    if (!appended.ok()) Note(appended.status());
  }
}

void BuildRecorder::OnVersion(const StepInfo& step, const std::string& resource,
                              const Json& version, const std::vector<MetadataField>& metadata) {
  if (step.type == "put") {
    auto id = options_.resource_ids.find(resource);
    if (id != options_.resource_ids.end()) {
      Json meta = Json::array();
      for (const auto& m : metadata) meta.push_back({{"name", m.name}, {"value", m.value}});
      auto saved = stores_.versions.SaveResourceVersions(id->second, {VersionFound{version, meta}});
      Note(saved.status());
      if (saved.ok() && !saved->empty()) {
        const ResourceVersion& v = saved->back();
        // The implicit get after a put reports the same version again: record and show it
        // once (the console printed each `put ... {"digest": ...}` line twice).
        for (const auto& o : outputs_) {
          if (o.name == step.name) return;
        }
        outputs_.push_back({step.name, v.id, id->second, version});
        outputs_by_resource_[resource].push_back(v.id);
        if (options_.on_new_version) options_.on_new_version(resource, v);
      }
    }
  }
  if (options_.forward) options_.forward->OnVersion(step, resource, version, metadata);
}

void BuildRecorder::OnSecrets(const std::vector<std::string>& values) {
  if (options_.forward) options_.forward->OnSecrets(values);
}

}  // namespace baton::runner
