// JSON Schema of steps: one shape per core step (get, put, task, set_pipeline, load_var,
// in_parallel, do, try), each with the modifiers and hooks every step may carry.
#include "schema_parts.h"

namespace baton::pipelines::schema {

namespace {

// A core step: `properties` plus the modifiers; nothing else.
Json CoreStep(std::string_view key, Json properties, std::string_view description) {
  Json step = {{"type", "object"},
               {"description", description},
               {"required", Json::array({key})},
               {"properties", std::move(properties)},
               {"allOf", Json::array({Ref("step_modifiers")})},
               {"unevaluatedProperties", false}};
  return step;
}

Json GetStep() {
  Json version = OrVar(Json{
      {"anyOf",
       Json::array({Json{{"enum", {"latest", "every"}}},
                    Json{{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}})}});
  return CoreStep(
      "get",
      {
          {"get", String("Fetches a version of a resource; the artifact gets this name.")},
          {"resource", String("The resource to fetch, when it differs from the `get` name.")},
          {"passed", StringList("Only versions that passed through all these jobs.")},
          {"params", FreeMap("Parameters for the resource type's `get`.")},
          {"trigger", Bool("Start a new build of the job when a new version appears.")},
          {"version", Describe(version,
                               "`latest` (the default), `every`, or a pinned "
                               "version such as `{ref: abc123}`.")},
      },
      "get: fetch a resource version into the build.");
}

Json PutStep() {
  Json inputs = OrVar(
      Json{{"anyOf", Json::array({Json{{"enum", {"all", "detect"}}},
                                  Json{{"type", "array"}, {"items", {{"type", "string"}}}}})}});
  return CoreStep(
      "put",
      {
          {"put", String("Pushes to a resource, creating a version.")},
          {"resource", String("The resource to push to, when it differs from the `put` name.")},
          {"params", FreeMap("Parameters for the resource type's `put`.")},
          {"get_params", FreeMap("Parameters for the implicit `get` after the put.")},
          {"inputs", Describe(inputs,
                              "Artifacts given to the put: `detect` (the default: those "
                              "named in params), `all`, or a list of names.")},
          {"no_get", Bool("Skip the implicit `get` of the created version.")},
      },
      "put: push to a resource.");
}

Json TaskStep() {
  Json step = CoreStep(
      "task",
      {
          {"task", String("Runs a task; the name is shown in the UI and logs.")},
          {"file", String("Path of a task config file inside an artifact: `repo/ci/test.yml`.")},
          {"config", Ref("task_config")},
          {"image", String("An artifact (e.g. from a `get`) to use as the task's image.")},
          {"privileged", Bool("Run the container with elevated privileges.")},
          {"params", FreeMap("Overrides the task config's `params`.")},
          {"vars", FreeMap("Values for ((vars)) inside the task config file.")},
          {"input_mapping", StringMap("Task input name -> artifact name in the build.")},
          {"output_mapping", StringMap("Task output name -> artifact name in the build.")},
          {"hermetic", Bool("Baton: override the task config's `hermetic`.")},
      },
      "task: run a command in a container.");
  step["oneOf"] = Json::array({Json{{"required", {"file"}}}, Json{{"required", {"config"}}}});
  return step;
}

Json SetPipelineStep() {
  return CoreStep(
      "set_pipeline",
      {
          {"set_pipeline", String("The pipeline to configure, or `self` for this one.")},
          {"file", String("Path of the pipeline file inside an artifact.")},
          {"team", String("The team that owns the pipeline (defaults to this team).")},
          {"vars", FreeMap("Values for ((vars)) in the pipeline file.")},
          {"var_files", StringList("Files (inside artifacts) with values for ((vars)).")},
          {"instance_vars", FreeMap("Vars that also identify an instanced pipeline.")},
      },
      "set_pipeline: configure a pipeline from a file.");
}

Json LoadVarStep() {
  return CoreStep(
      "load_var",
      {
          {"load_var", String("Name of the local var; use it as `((.:name))`.")},
          {"file", String("Path of the file inside an artifact.")},
          {"format", Enum({"json", "yaml", "yml", "trim", "raw"},
                          "How to parse the file; by default from its extension, else `trim`.")},
          {"reveal", Bool("Show the value in build logs instead of redacting it.")},
      },
      "load_var: load a file's content as a local var.");
}

Json InParallelStep() {
  Json config = Object(
      {
          {"steps", ListOf(Ref("step"), "The steps to run at the same time.")},
          {"limit", Int("How many steps run at once (default: all).", 0)},
          {"fail_fast", Bool("Stop the remaining steps when one fails.")},
      },
      {}, "Steps with a concurrency limit.");
  Json value = {{"anyOf", Json::array({Json{{"type", "array"}, {"items", Ref("step")}}, config})},
                {"description", "A list of steps, or `{steps, limit, fail_fast}`."}};
  return CoreStep("in_parallel", {{"in_parallel", value}}, "in_parallel: run steps concurrently.");
}

Json StepModifiers() {
  Json across_var = Object(
      {
          {"var", String("Name of the local var; use it as `((.:name))`.")},
          {"values", Describe(OrVar(Json{{"type", "array"}}), "The values to run with.")},
          {"max_in_flight",
           Describe(OrVar(Json{{"anyOf", Json::array({Json{{"type", "integer"}, {"minimum", 1}},
                                                      Json{{"const", "all"}}})}}),
                    "How many values run at once: a number (default 1) or `all`.")},
      },
      {"var", "values"}, "A var to run the step across.");
  return {{"properties",
           {
               {"across", ListOf(across_var, "Run the step once per combination of values.")},
               {"fail_fast", Bool("With `across`: stop the remaining runs when one fails.")},
               {"timeout", Duration("Abort the step (as errored) after this long, e.g. `1h30m`.")},
               {"attempts", Int("Run the step up to this many times until it succeeds.", 1)},
               {"tags", StringList("Only run on workers with all these tags.")},
               {"on_success", Describe(Ref("step"), "Run after the step succeeds.")},
               {"on_failure", Describe(Ref("step"), "Run after the step fails.")},
               {"on_error", Describe(Ref("step"), "Run after the step errors.")},
               {"on_abort", Describe(Ref("step"), "Run after the step is aborted.")},
               {"ensure", Describe(Ref("step"), "Run after the step, whatever its result.")},
           }}};
}

}  // namespace

void AddStepDefs(Json& defs) {
  defs["step_modifiers"] = StepModifiers();
  defs["get_step"] = GetStep();
  defs["put_step"] = PutStep();
  defs["task_step"] = TaskStep();
  defs["set_pipeline_step"] = SetPipelineStep();
  defs["load_var_step"] = LoadVarStep();
  defs["in_parallel_step"] = InParallelStep();
  defs["do_step"] = CoreStep("do", {{"do", ListOf(Ref("step"), "The steps, one after another.")}},
                             "do: run steps in order (useful with hooks and modifiers).");
  defs["try_step"] =
      CoreStep("try", {{"try", Describe(Ref("step"), "The step whose failure is ignored.")}},
               "try: run a step and succeed even if it fails.");
  Json shapes = Json::array();
  for (const char* core : {"get_step", "put_step", "task_step", "set_pipeline_step",
                           "load_var_step", "in_parallel_step", "do_step", "try_step"}) {
    shapes.push_back(Ref(core));
  }
  defs["step"] = {{"type", "object"},
                  {"description",
                   "A step: exactly one of get, put, task, set_pipeline, load_var, in_parallel, "
                   "do, try, plus modifiers (across, timeout, attempts, tags) and hooks."},
                  {"anyOf", shapes}};
}

}  // namespace baton::pipelines::schema
