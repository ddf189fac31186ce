// Steps: one core step type plus modifiers, following Concourse's atc/steps.go.
#include <algorithm>

#include "baton/common/strings.h"
#include "build_context.h"
#include "builders.h"
#include "interpolate.h"

namespace baton::pipelines {

namespace {

const std::vector<std::string> kCoreKeys = {"task",     "put", "get", "set_pipeline",
                                            "load_var", "try", "do",  "in_parallel"};
const std::vector<std::string> kModifierKeys = {"across",   "ensure",     "on_error",
                                                "on_abort", "on_failure", "on_success",
                                                "attempts", "timeout",    "tags"};
const std::vector<std::string> kAcrossFields = {"var", "values", "max_in_flight", "fail_fast"};
const std::vector<std::string> kInParallelFields = {"steps", "limit", "fail_fast"};

const std::vector<std::string>& CoreFields(const std::string& core) {
  static const std::map<std::string, std::vector<std::string>> kFields = {
      {"get", {"resource", "passed", "params", "trigger", "version"}},
      {"put", {"resource", "params", "get_params", "inputs", "no_get"}},
      {"task",
       {"config", "file", "privileged", "params", "vars", "input_mapping", "output_mapping",
        "image", "hermetic"}},
      {"set_pipeline", {"file", "vars", "var_files", "team", "instance_vars"}},
      {"load_var", {"file", "format", "reveal"}},
  };
  static const std::vector<std::string> kNone;
  auto it = kFields.find(core);
  return it == kFields.end() ? kNone : it->second;
}

// The core keys of a step map, in file order; `aggregate` counts as `in_parallel`.
std::vector<std::pair<std::string, SourceMark>> CoreKeysOf(const YamlNode& node,
                                                           BuildContext& ctx) {
  std::vector<std::pair<std::string, SourceMark>> found;
  for (const auto& [key, value] : node.entries) {
    if (!key->IsScalar()) continue;
    if (key->value == "aggregate") {
      ctx.diags.Error(key->mark, "the `aggregate` step was removed; use `in_parallel`",
                      "replace `aggregate:` with `in_parallel:`");
      found.emplace_back("aggregate", key->mark);
    } else if (std::find(kCoreKeys.begin(), kCoreKeys.end(), key->value) != kCoreKeys.end()) {
      found.emplace_back(key->value, key->mark);
    }
  }
  return found;
}

std::vector<Step> BuildStepList(const YamlNode* list, const std::string& field,
                                const std::string& path, BuildContext& ctx) {
  std::vector<Step> steps;
  if (!list || list->IsNull()) return steps;
  if (!list->IsSequence()) {
    ctx.diags.Error(list->mark, "`" + field + "` must be a list of steps, got " + list->KindName());
    return steps;
  }
  steps.reserve(list->items.size());
  for (size_t i = 0; i < list->items.size(); ++i) {
    steps.push_back(BuildStep(*list->items[i], path + "[" + std::to_string(i) + "]", ctx));
  }
  return steps;
}

GetStep BuildGet(const YamlNode& node, BuildContext& ctx) {
  GetStep get;
  const YamlNode* name = node.Find("get");
  get.name = ReadString(name, "get", ctx);
  const YamlNode* resource = node.Find("resource");
  get.resource = resource ? ReadString(resource, "resource", ctx) : get.name;
  get.resource_mark = resource ? resource->mark : name->mark;
  get.passed = ReadStringList(node.Find("passed"), "passed", ctx, &get.passed_marks);
  get.trigger = ReadBool(node.Find("trigger"), "trigger", false, ctx);
  get.params = ReadJsonMap(node.Find("params"), "params", ctx);
  if (const YamlNode* version = node.Find("version"); version && !version->IsNull()) {
    VersionSpec spec;
    if (version->IsMap()) {
      spec.kind = VersionSpec::Kind::kPinned;
      spec.pinned = ToJson(*version);
    } else if (version->IsScalar() && version->value == "every") {
      spec.kind = VersionSpec::Kind::kEvery;
    } else if (!version->IsScalar() || (version->value != "latest" && !IsVarRefScalar(*version))) {
      ctx.diags.Error(version->mark, "`version` must be `latest`, `every` or a map of fields",
                      "pin a version like `version: {ref: abc123}`");
    }
    get.version = spec;
  }
  return get;
}

PutStep BuildPut(const YamlNode& node, BuildContext& ctx) {
  PutStep put;
  const YamlNode* name = node.Find("put");
  put.name = ReadString(name, "put", ctx);
  const YamlNode* resource = node.Find("resource");
  put.resource = resource ? ReadString(resource, "resource", ctx) : put.name;
  put.resource_mark = resource ? resource->mark : name->mark;
  put.params = ReadJsonMap(node.Find("params"), "params", ctx);
  put.get_params = ReadJsonMap(node.Find("get_params"), "get_params", ctx);
  put.no_get = ReadBool(node.Find("no_get"), "no_get", false, ctx);
  if (const YamlNode* inputs = node.Find("inputs"); inputs && !inputs->IsNull()) {
    put.inputs_given = true;
    if (inputs->IsScalar() && inputs->value == "all") {
      put.inputs.kind = PutInputs::Kind::kAll;
    } else if (inputs->IsScalar() && inputs->value == "detect") {
      put.inputs.kind = PutInputs::Kind::kDetect;
    } else if (inputs->IsSequence()) {
      put.inputs.kind = PutInputs::Kind::kList;
      put.inputs.names = ReadStringList(inputs, "inputs", ctx);
    } else if (!IsVarRefScalar(*inputs)) {
      ctx.diags.Error(inputs->mark, "`inputs` must be `all`, `detect` or a list of artifact names");
    }
  }
  return put;
}

void CheckTaskSource(const YamlNode& node, const TaskStep& task, BuildContext& ctx) {
  const YamlNode* file = node.Find("file");
  const YamlNode* config = node.Find("config");
  if (file && config) {
    ctx.diags.Error(KeyMark(node, "config"), "must specify one of file: or config:, not both",
                    "keep either the task file or the inline config");
  } else if (!file && !config) {
    ctx.diags.Error(node.mark, "task step `" + task.name + "` must specify either file: or config:",
                    "add `file: some-artifact/task.yml` or an inline `config:`");
  }
  bool config_image =
      task.config && (task.config->image_resource || !task.config->rootfs_uri.empty());
  if (config_image && !task.image.empty()) {
    ctx.diags.Warning(KeyMark(node, "image"),
                      "task step `" + task.name +
                          "` specifies image: on the step but also specifies an image under "
                          "config: - the image: on the step takes precedence");
  }
}

TaskStep BuildTask(const YamlNode& node, BuildContext& ctx) {
  TaskStep task;
  task.name = ReadString(node.Find("task"), "task", ctx);
  task.file = ReadString(node.Find("file"), "file", ctx);
  if (const YamlNode* config = node.Find("config"); ExpectMap(config, "config", ctx)) {
    task.config = BuildTaskConfig(*config, ctx);
  }
  task.privileged = ReadBool(node.Find("privileged"), "privileged", false, ctx);
  task.params = ReadJsonMap(node.Find("params"), "params", ctx);
  task.vars = ReadJsonMap(node.Find("vars"), "vars", ctx);
  task.input_mapping = ReadStringMap(node.Find("input_mapping"), "input_mapping", ctx);
  task.output_mapping = ReadStringMap(node.Find("output_mapping"), "output_mapping", ctx);
  CheckArtifactMapping(node.Find("input_mapping"), "input_mapping", ctx);
  CheckArtifactMapping(node.Find("output_mapping"), "output_mapping", ctx);
  CheckArtifactFile(node.Find("file"), "file", ctx);
  task.image = ReadString(node.Find("image"), "image", ctx);
  if (const YamlNode* hermetic = node.Find("hermetic")) {
    task.hermetic = ReadBool(hermetic, "hermetic", false, ctx);
  }
  CheckTaskSource(node, task, ctx);
  return task;
}

void RequireFile(const YamlNode& node, const std::string& kind, const std::string& name,
                 const std::string& file, BuildContext& ctx) {
  if (file.empty()) {
    ctx.diags.Error(node.mark, kind + " step `" + name + "` has no file specified",
                    "add `file: some-artifact/path`");
  }
}

SetPipelineStep BuildSetPipeline(const YamlNode& node, BuildContext& ctx) {
  SetPipelineStep step;
  step.name = ReadString(node.Find("set_pipeline"), "set_pipeline", ctx);
  step.file = ReadString(node.Find("file"), "file", ctx);
  step.team = ReadString(node.Find("team"), "team", ctx);
  step.vars = ReadJsonMap(node.Find("vars"), "vars", ctx);
  step.var_files = ReadStringList(node.Find("var_files"), "var_files", ctx);
  step.instance_vars = ReadJsonMap(node.Find("instance_vars"), "instance_vars", ctx);
  RequireFile(node, "set_pipeline", step.name, step.file, ctx);
  CheckArtifactFile(node.Find("file"), "file", ctx);
  if (const YamlNode* files = node.Find("var_files"); files && files->IsSequence()) {
    for (const auto& item : files->items) CheckArtifactFile(item.get(), "var_files", ctx);
  }
  return step;
}

LoadVarStep BuildLoadVar(const YamlNode& node, BuildContext& ctx) {
  LoadVarStep step;
  step.name = ReadString(node.Find("load_var"), "load_var", ctx);
  step.file = ReadString(node.Find("file"), "file", ctx);
  step.format = ReadString(node.Find("format"), "format", ctx);
  step.reveal = ReadBool(node.Find("reveal"), "reveal", false, ctx);
  RequireFile(node, "load_var", step.name, step.file, ctx);
  CheckArtifactFile(node.Find("file"), "file", ctx);
  static const std::vector<std::string> kFormats = {"json", "yaml", "yml", "trim", "raw"};
  if (!step.format.empty() &&
      std::find(kFormats.begin(), kFormats.end(), step.format) == kFormats.end()) {
    ctx.diags.Error(node.Find("format")->mark, "unknown load_var format `" + step.format + "`",
                    "use one of json, yaml, trim or raw");
  }
  return step;
}

InParallelStep BuildInParallel(const YamlNode& value, const std::string& field,
                               const std::string& path, BuildContext& ctx) {
  InParallelStep step;
  if (value.IsMap()) {
    CheckFields(value, kInParallelFields, "`" + field + "`", ctx);
    step.steps = BuildStepList(value.Find("steps"), field + ".steps", path + ".steps", ctx);
    step.limit = static_cast<int>(ReadInt(value.Find("limit"), "limit", 0, ctx));
    step.fail_fast = ReadBool(value.Find("fail_fast"), "fail_fast", false, ctx);
    if (step.limit < 0) ctx.diags.Error(value.Find("limit")->mark, "`limit` must be positive");
  } else {
    step.steps = BuildStepList(&value, field, path, ctx);
  }
  return step;
}

TryStep BuildTry(const YamlNode& value, const std::string& path, BuildContext& ctx) {
  TryStep step;
  step.step = std::make_unique<Step>(BuildStep(value, path + ".try", ctx));
  return step;
}

void BuildBody(Step& step, const std::string& core, const YamlNode& node, const std::string& path,
               BuildContext& ctx) {
  const YamlNode& value = *node.Find(core == "aggregate" ? "aggregate" : core);
  if (core == "get")
    step.body = BuildGet(node, ctx);
  else if (core == "put")
    step.body = BuildPut(node, ctx);
  else if (core == "task")
    step.body = BuildTask(node, ctx);
  else if (core == "set_pipeline")
    step.body = BuildSetPipeline(node, ctx);
  else if (core == "load_var")
    step.body = BuildLoadVar(node, ctx);
  else if (core == "try")
    step.body = BuildTry(value, path, ctx);
  else if (core == "do")
    step.body = DoStep{BuildStepList(&value, "do", path + ".do", ctx)};
  else
    step.body = BuildInParallel(value, core, path + "." + core, ctx);
}

std::vector<AcrossVar> BuildAcross(const YamlNode& list, bool& fail_fast, BuildContext& ctx) {
  std::vector<AcrossVar> vars;
  if (!list.IsSequence() || list.items.empty()) {
    ctx.diags.Error(list.mark, "`across` must be a non-empty list of vars",
                    "e.g. `across: [{var: version, values: [1, 2]}]`");
    return vars;
  }
  for (const auto& item : list.items) {
    if (!ExpectMap(item.get(), "across[]", ctx)) continue;
    CheckFields(*item, kAcrossFields, "across var", ctx);
    AcrossVar var;
    var.mark = item->mark;
    var.var = ReadString(item->Find("var"), "var", ctx);
    if (var.var.empty()) ctx.diags.Error(item->mark, "across var has no `var` name");
    if (const YamlNode* values = item->Find("values"); values && !values->IsNull()) {
      var.values = ToJson(*values);
      if (!values->IsSequence() && !ContainsVarRef(values->value)) {
        ctx.diags.Error(values->mark, "across `values` must be a list or a ((var))");
      }
    }
    if (const YamlNode* mif = item->Find("max_in_flight"); mif && !mif->IsNull()) {
      if (mif->IsScalar() && mif->value == "all") {
        var.max_in_flight_all = true;
        var.max_in_flight = 0;
      } else {
        var.max_in_flight = static_cast<int>(ReadInt(mif, "max_in_flight", 1, ctx));
        if (var.max_in_flight <= 0) {
          ctx.diags.Error(mif->mark, "across `max_in_flight` must be greater than 0 or `all`");
        }
      }
    }
    fail_fast = fail_fast || ReadBool(item->Find("fail_fast"), "fail_fast", false, ctx);
    vars.push_back(std::move(var));
  }
  return vars;
}

std::shared_ptr<Step> BuildHook(const YamlNode& node, const char* hook, const std::string& path,
                                BuildContext& ctx) {
  const YamlNode* value = node.Find(hook);
  if (!value || value->IsNull()) return nullptr;
  return std::make_shared<Step>(BuildStep(*value, path + "." + hook, ctx));
}

void BuildModifiers(Step& step, const YamlNode& node, const std::string& path, BuildContext& ctx) {
  if (const YamlNode* across = node.Find("across")) {
    step.across = BuildAcross(*across, step.across_fail_fast, ctx);
    step.across_fail_fast =
        step.across_fail_fast || ReadBool(node.Find("fail_fast"), "fail_fast", false, ctx);
  }
  step.timeout = ReadDuration(node.Find("timeout"), "timeout", &step.timeout_text, ctx);
  if (const YamlNode* attempts = node.Find("attempts")) {
    step.attempts = static_cast<int>(ReadInt(attempts, "attempts", 1, ctx));
    if (step.attempts <= 0) {
      ctx.diags.Error(attempts->mark, "`attempts` must be greater than 0");
      step.attempts = 1;
    }
  }
  step.tags = ReadStringList(node.Find("tags"), "tags", ctx);
  step.on_success = BuildHook(node, "on_success", path, ctx);
  step.on_failure = BuildHook(node, "on_failure", path, ctx);
  step.on_error = BuildHook(node, "on_error", path, ctx);
  step.on_abort = BuildHook(node, "on_abort", path, ctx);
  step.ensure = BuildHook(node, "ensure", path, ctx);
}

std::string StepWhat(const std::string& core, const YamlNode& node) {
  const YamlNode* name = node.Find(core);
  if (name && name->IsScalar() && !CoreFields(core).empty()) {
    return core + " step `" + name->value + "`";
  }
  return "`" + core + "` step";
}

}  // namespace

Step BuildStep(const YamlNode& node, const std::string& path, BuildContext& ctx) {
  Step step;
  step.mark = node.mark;
  step.path = path;
  step.body = DoStep{};
  if (!node.IsMap()) {
    ctx.diags.Error(node.mark, std::string("a step must be a map, got ") + node.KindName(), {},
                    path);
    return step;
  }
  auto cores = CoreKeysOf(node, ctx);
  std::vector<std::string> known = kModifierKeys;
  if (node.Find("across")) known.push_back("fail_fast");  // Concourse: step-level, with across
  for (const auto& [core, mark] : cores) {
    known.push_back(core);
    const auto& fields = CoreFields(core);
    known.insert(known.end(), fields.begin(), fields.end());
  }
  if (cores.empty()) {
    std::vector<std::string> all = kModifierKeys;
    all.insert(all.end(), kCoreKeys.begin(), kCoreKeys.end());
    for (const auto& core : kCoreKeys) {
      const auto& fields = CoreFields(core);
      all.insert(all.end(), fields.begin(), fields.end());
    }
    ctx.diags.Error(node.mark, "no core step type declared (e.g. get, put, task)",
                    "a step needs exactly one of " + Join(kCoreKeys, ", "), path);
    CheckFields(node, all, "step", ctx, path);
    return step;
  }
  if (cores.size() > 1) {
    ctx.diags.Error(cores[1].second,
                    "step declares both `" + cores[0].first + "` and `" + cores[1].first +
                        "`; a step has exactly one core step type",
                    "split it into two steps", path);
  }
  const std::string& core = cores[0].first;
  CheckFields(node, known, StepWhat(core, node), ctx, path);
  BuildBody(step, core, node, path, ctx);
  BuildModifiers(step, node, path, ctx);
  return step;
}

}  // namespace baton::pipelines
