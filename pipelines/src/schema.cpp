// JSON Schema of pipeline and task files: the top level, jobs, resources, groups, var sources.
// Steps are in schema_steps.cpp, the task config in schema_task.cpp.
#include "baton/pipelines/schema.h"

#include "schema_parts.h"

namespace baton::pipelines {

namespace schema {

namespace {
constexpr const char* kDraft = "https://json-schema.org/draft/2020-12/schema";
// Go's time.ParseDuration syntax: "90s", "1h30m", "1.5h", "250ms".
constexpr const char* kDurationPattern =
    "^(\\(\\([^()]+\\)\\)|0|[-+]?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|\xC2\xB5s|ms|s|m|h))+)$";
}  // namespace

Json Ref(std::string_view name) { return {{"$ref", "#/$defs/" + std::string(name)}}; }

Json OrVar(Json schema) { return {{"anyOf", Json::array({std::move(schema), Ref("var")})}}; }

Json Describe(Json schema, std::string_view description) {
  schema["description"] = description;
  return schema;
}

Json String(std::string_view description) {
  return {{"type", "string"}, {"description", description}};
}

Json Enum(std::vector<std::string> values, std::string_view description) {
  return Describe(OrVar(Json{{"enum", values}}), description);
}

Json Bool(std::string_view description) {
  return Describe(OrVar(Json{{"type", "boolean"}}), description);
}

Json Int(std::string_view description, int minimum) {
  return Describe(OrVar(Json{{"type", "integer"}, {"minimum", minimum}}), description);
}

Json StringList(std::string_view description) {
  return Describe(OrVar(Json{{"type", "array"}, {"items", {{"type", "string"}}}}), description);
}

Json StringMap(std::string_view description) {
  return Describe(OrVar(Json{{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}),
                  description);
}

Json FreeMap(std::string_view description) {
  return Describe(OrVar(Json{{"type", "object"}}), description);
}

Json Duration(std::string_view description) {
  return {{"type", "string"}, {"pattern", kDurationPattern}, {"description", description}};
}

Json ListOf(Json item, std::string_view description) {
  return {{"type", "array"}, {"items", std::move(item)}, {"description", description}};
}

Json Object(Json properties, std::vector<std::string> required, std::string_view description) {
  Json object = {{"type", "object"},
                 {"description", description},
                 {"properties", std::move(properties)},
                 {"additionalProperties", false}};
  if (!required.empty()) object["required"] = required;
  return object;
}

namespace {

Json Hook(std::string_view description) { return Describe(Ref("step"), description); }

Json CheckEvery(std::string_view description) {
  Json never = {{"const", "never"}};
  return {{"anyOf", Json::array({Duration(""), never})}, {"description", description}};
}

Json BuildLogRetention() {
  return Object(
      {
          {"builds", Int("Keep the logs of this many most recent builds.", 0)},
          {"days", Int("Keep the logs of builds from the last this many days.", 0)},
          {"minimum_succeeded_builds",
           Int("Always keep the logs of at least this many succeeded builds.", 0)},
      },
      {}, "How long build logs are kept.");
}

Json Job() {
  return Object(
      {
          {"name", String("The job's name, unique in the pipeline.")},
          {"plan", ListOf(Ref("step"), "The steps a build of this job runs, in order.")},
          {"old_name", String("The job's previous name, to keep its build history.")},
          {"serial", Bool("Run builds one at a time, in order.")},
          {"serial_groups", StringList("Jobs sharing a group never run builds at the same time.")},
          {"max_in_flight", Int("At most this many builds run at once.", 1)},
          {"build_log_retention", Ref("build_log_retention")},
          {"build_logs_to_retain", Int("Deprecated: use build_log_retention.builds.", 0)},
          {"public", Bool("Show build logs to users outside the team.")},
          {"disable_manual_trigger", Bool("Refuse manual triggers of this job.")},
          {"interruptible", Bool("A worker being retired does not wait for this job's builds.")},
          {"on_success", Hook("Run after a build succeeds.")},
          {"on_failure", Hook("Run after a build fails.")},
          {"on_error", Hook("Run after a build errors.")},
          {"on_abort", Hook("Run after a build is aborted.")},
          {"ensure", Hook("Run after every build, whatever its result.")},
      },
      {"name", "plan"}, "A job: a plan of steps, run as builds.");
}

Json Resource() {
  Json version = {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}};
  return Object(
      {
          {"name", String("The resource's name, used by get and put steps.")},
          {"type", String("The resource type: `git`, `time`, `mock`, or one in resource_types.")},
          {"source", FreeMap("Configuration for the resource type (e.g. a git `uri`).")},
          {"old_name", String("The resource's previous name, to keep its versions.")},
          {"icon", String("A Material Design icon name shown in the UI.")},
          {"version", Describe(OrVar(version), "Pin the resource to this version.")},
          {"check_every", CheckEvery("How often to check for new versions (default `1m`), "
                                     "or `never`.")},
          {"check_timeout", Duration("Give up on a check after this long (default `1h`).")},
          {"expose_build_created_by", Bool("Expose the build's creator to the resource type.")},
          {"tags", StringList("Only check on workers with all these tags.")},
          {"public", Bool("Show the resource's metadata to users outside the team.")},
          {"webhook_token", String("Token that lets a webhook trigger a check.")},
      },
      {"name", "type"}, "A resource: a versioned external object (a git repo, a timer, ...).");
}

Json ResourceType() {
  return Object(
      {
          {"name", String("The type's name, used in resources' `type`.")},
          {"type", String("The resource type that fetches this type's image.")},
          {"source", FreeMap("Configuration for fetching the image.")},
          {"privileged", Bool("Run the type's containers privileged.")},
          {"params", FreeMap("Parameters for fetching the image.")},
          {"check_every", CheckEvery("How often to check for new images (default `1m`).")},
          {"tags", StringList("Only run on workers with all these tags.")},
          {"defaults", FreeMap("Default `source` values for every resource of this type.")},
          {"unique_version_history",
           Bool("Keep a separate version history for each resource of this type.")},
      },
      {"name", "type"}, "A custom resource type.");
}

Json Group() {
  return Object(
      {
          {"name", String("The tab's name in the UI.")},
          {"jobs", StringList("The jobs shown in this group (glob patterns allowed).")},
          {"resources", StringList("The resources shown in this group.")},
      },
      {"name"}, "A group of jobs shown together in the UI.");
}

Json VarSource() {
  return Object(
      {
          {"name", String("The source's name, used as `((name:var))`.")},
          {"type", String("The kind of credential manager: `vault`, `dummy`, `ssm`, ...")},
          {"config", FreeMap("Configuration for the credential manager.")},
      },
      {"name", "type"}, "A credential manager that resolves ((vars)).");
}

Json Display() {
  return Object(
      {
          {"background_image", String("URL of an image shown behind the pipeline.")},
          {"background_filter", String("CSS filter applied to the background image.")},
      },
      {}, "How the pipeline looks in the UI.");
}

Json PipelineDefs() {
  Json defs = Json::object();
  AddTaskDefs(defs);
  AddStepDefs(defs);
  defs["job"] = Job();
  defs["build_log_retention"] = BuildLogRetention();
  defs["resource"] = Resource();
  defs["resource_type"] = ResourceType();
  defs["group"] = Group();
  defs["var_source"] = VarSource();
  defs["display"] = Display();
  return defs;
}

}  // namespace
}  // namespace schema

nlohmann::json PipelineSchema() {
  using namespace schema;
  return {
      {"$schema", kDraft},
      {"title", "Baton pipeline"},
      {"description", "A Concourse-style pipeline: resources, jobs and their plans."},
      {"type", "object"},
      {"properties",
       {
           {"resources", ListOf(Ref("resource"), "The resources jobs get and put.")},
           {"resource_types", ListOf(Ref("resource_type"), "Custom resource types.")},
           {"jobs", ListOf(Ref("job"), "The jobs of the pipeline.")},
           {"groups", ListOf(Ref("group"), "Tabs that group jobs in the UI.")},
           {"var_sources", ListOf(Ref("var_source"), "Credential managers for ((vars)).")},
           {"display", Ref("display")},
       }},
      {"additionalProperties", true},
      {"$defs", PipelineDefs()},
  };
}

nlohmann::json TaskSchema() {
  using namespace schema;
  Json defs = Json::object();
  AddTaskDefs(defs);
  return {
      {"$schema", kDraft},
      {"title", "Baton task config"},
      {"description", "A task: a command run in a container, from inputs to outputs."},
      {"$ref", "#/$defs/task_config"},
      {"$defs", defs},
  };
}

}  // namespace baton::pipelines
