// JSON Schema of a task config (Concourse's task-config schema plus Baton's `hermetic`).
#include "schema_parts.h"

namespace baton::pipelines::schema {

namespace {

Json ImageResource() {
  return Object(
      {
          {"type", String("The resource type that fetches the image, e.g. `registry-image`, "
                          "or `mock` with `source: {mirror_self: true}` to run on the worker's "
                          "own root filesystem.")},
          {"source", FreeMap("Configuration for the resource type (e.g. `repository`, `tag`).")},
          {"params", FreeMap("Parameters passed to the resource type's `get`.")},
          {"version",
           Describe(OrVar(Json{{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}),
                    "Use this version of the image instead of the latest.")},
      },
      {"type"}, "The container image to run in, as an anonymous resource.");
}

Json TaskInput() {
  return Object(
      {
          {"name", String("The artifact name the task expects, e.g. a `get` step's name.")},
          {"path", String("Directory (relative to the working directory) where the input is "
                          "placed. Defaults to `name`.")},
          {"optional", Bool("When true, the task runs even if no artifact of that name exists.")},
      },
      {"name"}, "An artifact the task reads.");
}

Json TaskOutput() {
  return Object(
      {
          {"name", String("The artifact name later steps use.")},
          {"path", String("Directory (relative to the working directory) the task writes to. "
                          "Defaults to `name`.")},
      },
      {"name"}, "An artifact the task produces.");
}

Json TaskCache() {
  return Object({{"path", String("Directory (relative to the working directory) kept between "
                                 "builds of the same job on the same worker.")}},
                {"path"}, "A cached directory.");
}

Json RunConfig() {
  return Object(
      {
          {"path", String("The command to execute, e.g. `sh` or `ci/scripts/test.sh`.")},
          {"args", StringList("Arguments passed to the command.")},
          {"dir", String("Working directory of the command, relative to the task's directory.")},
          {"user", String("User to run as (defaults to the image's user).")},
      },
      {"path"}, "The command the task runs.");
}

Json ContainerLimits() {
  Json memory = OrVar(Json{
      {"anyOf", Json::array({Json{{"type", "integer"}, {"minimum", 0}},
                             Json{{"type", "string"}, {"pattern", "^[0-9]+\\s*([KMGT]B?)?$"}}})}});
  return Object(
      {
          {"cpu", Int("CPU shares for the container (relative weight).", 0)},
          {"memory", Describe(memory, "Memory limit in bytes, or with a unit: `512MB`, `1GB`.")},
      },
      {}, "Resource limits of the task's container.");
}

Json TaskConfig() {
  return Object(
      {
          {"platform", String("The platform the task runs on: `linux` (the default), `darwin` "
                              "or `windows`; a worker must advertise it.")},
          {"image_resource", Ref("image_resource")},
          {"rootfs_uri", String("A root filesystem URI, instead of `image_resource`.")},
          {"inputs", ListOf(Ref("task_input"), "Artifacts the task reads.")},
          {"outputs", ListOf(Ref("task_output"), "Artifacts the task produces.")},
          {"caches", ListOf(Ref("task_cache"), "Directories cached between builds.")},
          {"params", FreeMap("Environment variables of the process. Non-string values are "
                             "passed as their JSON text.")},
          {"run", Ref("run_config")},
          {"container_limits", Ref("container_limits")},
          {"hermetic", Bool("Baton: run without network access.")},
      },
      {"run"}, "A task: a command run in a container, from inputs to outputs.");
}

}  // namespace

void AddTaskDefs(Json& defs) {
  defs["var"] = {
      {"type", "string"},
      {"pattern", "^\\(\\([^()]+\\)\\)$"},
      {"description", "A ((var)) reference, resolved when the pipeline is set or at run time."}};
  defs["task_config"] = TaskConfig();
  defs["image_resource"] = ImageResource();
  defs["task_input"] = TaskInput();
  defs["task_output"] = TaskOutput();
  defs["task_cache"] = TaskCache();
  defs["run_config"] = RunConfig();
  defs["container_limits"] = ContainerLimits();
}

}  // namespace baton::pipelines::schema
