// BuildRecorder: the BuildObserver that makes a build durable. It writes status transitions to
// the BuildStore, step events and log lines to the EventLog (log appends are batched by the
// store, so recording a line is cheap), saves the versions a build's puts create (PipelineStore)
// and records them as build outputs, and forwards everything to an optional second observer
// (the CLI's console, the SSE event bus).
//
// Thread-safety: like every BuildObserver, called on the executor's io_context thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "baton/runner/build_observer.h"
#include "baton/runner/store_builds.h"
#include "baton/runner/store_events.h"
#include "baton/runner/store_pipelines.h"

namespace baton::runner {

class BuildRecorder final : public BuildObserver {
 public:
  // The store roles a build's record goes to. One object may play every role.
  struct Stores {
    BuildStore& builds;       // the build's status transitions and outputs
    EventLog& events;         // its step events and log lines
    PipelineStore& versions;  // the versions its puts create (SaveResourceVersions only)
  };
  struct Options {
    // Resource name -> resource id, for recording put outputs.
    std::map<std::string, Id> resource_ids;
    // Called after a put's version was saved (so the scheduler can wake jobs that use it).
    std::function<void(const std::string& resource, const ResourceVersion&)> on_new_version;
    BuildObserver* forward = nullptr;  // may be null; must outlive the recorder
  };

  BuildRecorder(Stores stores, Build build, Options options);

  void OnStatus(BuildStatus status, SystemTime time) override;
  void OnStepStarted(const StepInfo& step, SystemTime time) override;
  void OnStepFinished(const StepFinished& finished, SystemTime time) override;
  void OnLog(const StepInfo& step, workers::OutputStream stream, SystemTime time,
             std::string_view line) override;
  void OnLogs(const StepInfo& step, std::span<LogLine> lines) override;
  void OnVersion(const StepInfo& step, const std::string& resource, const Json& version,
                 const std::vector<MetadataField>& metadata) override;
  void OnSecrets(const std::vector<std::string>& values) override;

  const Build& build() const { return build_; }
  // Versions this build's puts created, by resource name.
  const std::map<std::string, std::vector<Id>>& outputs() const { return outputs_by_resource_; }
  // The first store error met while recording ("" if none); recording continues best-effort.
  const std::string& store_error() const { return store_error_; }
  // The message of the first errored step, used as the build's error.
  const std::string& first_error() const { return first_error_; }

 private:
  void Append(BuildEvent event);
  void Append(std::vector<BuildEvent> events);
  void Note(const Status& status);

  Stores stores_;
  Build build_;
  Options options_;
  std::vector<BuildOutput> outputs_;
  std::map<std::string, std::vector<Id>> outputs_by_resource_;
  std::string store_error_;
  std::string first_error_;
};

// The JSON payload of a step event, shared by the recorder and readers of the event log.
Json StepInfoJson(const StepInfo& step);

}  // namespace baton::runner
