// PipelineConfig: the typed, immutable model of a Concourse-schema pipeline file, with the
// source mark of every node kept so later stages (validation, the scheduler, the build engine)
// can point users at the exact line and column.
//
// Step modelling follows Concourse's atc/steps.go: a step map holds exactly one core step
// (get, put, task, set_pipeline, load_var, try, do, in_parallel) plus modifiers. Modifiers apply
// from outside in: across -> ensure -> on_error -> on_abort -> on_failure -> on_success ->
// attempts -> timeout -> core. The build engine honours that order.
//
// Values; thread-compatible. Build one with LoadPipeline() (loader.h).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "baton/common/duration.h"
#include "baton/pipelines/diagnostics.h"
#include "baton/pipelines/task_config.h"

namespace baton::pipelines {

struct Step;

// `version:` on a get step.
struct VersionSpec {
  enum class Kind { kLatest, kEvery, kPinned };
  Kind kind = Kind::kLatest;
  Json pinned = Json::object();  // kPinned only: string values
};

struct GetStep {
  std::string name;      // artifact name (the `get:` value)
  std::string resource;  // resource name; equals name when not given
  std::vector<std::string> passed;
  std::vector<SourceMark> passed_marks;  // parallel to passed
  bool trigger = false;
  std::optional<VersionSpec> version;
  Json params = Json::object();
  SourceMark resource_mark;
};

struct PutInputs {
  enum class Kind { kDetect, kAll, kList };
  Kind kind = Kind::kDetect;  // Concourse's default since 7.x is detect
  std::vector<std::string> names;
};

struct PutStep {
  std::string name;
  std::string resource;
  Json params = Json::object();
  Json get_params = Json::object();
  PutInputs inputs;
  bool inputs_given = false;
  bool no_get = false;
  SourceMark resource_mark;
};

struct TaskStep {
  std::string name;
  std::string file;  // "artifact/path/task.yml"; empty if `config:` is used
  std::optional<TaskConfig> config;
  bool privileged = false;
  Json params = Json::object();  // overrides config params
  Json vars = Json::object();    // for ((vars)) inside `file:`
  std::map<std::string, std::string> input_mapping;
  std::map<std::string, std::string> output_mapping;
  std::string image;             // artifact name used as the image
  std::optional<bool> hermetic;  // Baton: step-level override of TaskConfig::hermetic
};

struct SetPipelineStep {
  std::string name;  // pipeline name, or "self"
  std::string file;
  std::string team;
  Json vars = Json::object();
  std::vector<std::string> var_files;
  Json instance_vars = Json::object();
};

struct LoadVarStep {
  std::string name;
  std::string file;
  std::string format;  // json|yaml|trim|raw, empty = by file extension
  bool reveal = false;
};

struct InParallelStep {
  std::vector<Step> steps;
  int limit = 0;  // 0 = unlimited
  bool fail_fast = false;
};

struct DoStep {
  std::vector<Step> steps;
};

struct TryStep {
  std::unique_ptr<Step> step;
};

struct AcrossVar {
  std::string var;
  Json values = Json::array();  // a list, or a string with an unresolved ((var))
  int max_in_flight = 1;        // 0 = all
  bool max_in_flight_all = false;
  SourceMark mark;
};

enum class StepKind { kGet, kPut, kTask, kSetPipeline, kLoadVar, kInParallel, kDo, kTry };
const char* ToString(StepKind k);

struct Step {
  std::variant<GetStep, PutStep, TaskStep, SetPipelineStep, LoadVarStep, InParallelStep, DoStep,
               TryStep>
      body;

  // Modifiers.
  std::vector<AcrossVar> across;
  bool across_fail_fast = false;
  std::optional<Duration> timeout;
  std::string timeout_text;  // as written ("1h"), or an unresolved ((var))
  int attempts = 1;
  std::vector<std::string> tags;

  // Hooks (null when absent).
  std::shared_ptr<Step> on_success;
  std::shared_ptr<Step> on_failure;
  std::shared_ptr<Step> on_error;
  std::shared_ptr<Step> on_abort;
  std::shared_ptr<Step> ensure;

  SourceMark mark;   // the step's map
  std::string path;  // logical location: "jobs.build.plan[2]"

  StepKind kind() const { return static_cast<StepKind>(body.index()); }
  // The name shown in logs: the get/put/task/load_var/set_pipeline value, or "do"/"try"/...
  std::string DisplayName() const;

  Step() = default;
  Step(const Step& other);
  Step& operator=(const Step& other);
  Step(Step&&) noexcept = default;
  Step& operator=(Step&&) noexcept = default;
};

struct BuildLogRetention {
  int builds = 0;  // 0 = keep all
  int days = 0;    // 0 = keep all
  int minimum_succeeded_builds = 0;
};

struct Job {
  std::string name;
  std::vector<Step> plan;
  bool serial = false;
  std::vector<std::string> serial_groups;
  int max_in_flight = 0;  // 0 = unlimited (1 when serial or serial_groups)
  std::optional<BuildLogRetention> build_log_retention;
  bool public_ = false;
  bool disable_manual_trigger = false;
  bool interruptible = false;
  std::string old_name;
  std::shared_ptr<Step> on_success;
  std::shared_ptr<Step> on_failure;
  std::shared_ptr<Step> on_error;
  std::shared_ptr<Step> on_abort;
  std::shared_ptr<Step> ensure;
  SourceMark mark;
  SourceMark name_mark;

  // Effective concurrency limit: 1 if serial or in serial groups, else max_in_flight (0 = none).
  int EffectiveMaxInFlight() const;
};

struct Resource {
  std::string name;
  std::string type;
  Json source = Json::object();
  std::string check_every;                 // "" = default (1m), "never", or a duration
  std::optional<Duration> check_interval;  // parsed check_every; nullopt for never/default
  std::string check_timeout;
  std::string webhook_token;
  Json version;  // null, or a pinned version object
  std::vector<std::string> tags;
  bool public_ = false;
  std::string icon;
  std::string old_name;
  SourceMark mark;
  SourceMark name_mark;
  SourceMark type_mark;
};

struct ResourceType {
  std::string name;
  std::string type;
  Json source = Json::object();
  Json params = Json::object();
  Json defaults = Json::object();
  bool privileged = false;
  std::string check_every;
  std::vector<std::string> tags;
  SourceMark mark;
  SourceMark type_mark;
};

struct Group {
  std::string name;
  std::vector<std::string> jobs;
  std::vector<std::string> resources;
  SourceMark mark;
  std::vector<SourceMark> job_marks;       // parallel to jobs
  std::vector<SourceMark> resource_marks;  // parallel to resources
};

struct VarSource {
  std::string name;
  std::string type;
  Json config = Json::object();
  SourceMark mark;
};

struct Display {
  std::string background_image;
  std::string background_filter;
};

struct PipelineConfig {
  std::string file;  // the path it was loaded from, for messages
  std::vector<Resource> resources;
  std::vector<ResourceType> resource_types;
  std::vector<Job> jobs;
  std::vector<Group> groups;
  std::vector<VarSource> var_sources;
  std::optional<Display> display;

  const Job* FindJob(std::string_view name) const;
  const Resource* FindResource(std::string_view name) const;
  const ResourceType* FindResourceType(std::string_view name) const;
};

// Calls `fn(step)` for every step in `steps`, depth-first, including nested steps and hooks.
void ForEachStep(const std::vector<Step>& steps, const std::function<void(const Step&)>& fn);
// Same for every step of a job, including job-level hooks.
void ForEachStep(const Job& job, const std::function<void(const Step&)>& fn);

}  // namespace baton::pipelines
