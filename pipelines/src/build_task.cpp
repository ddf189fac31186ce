// Task configs: a step's `config:` block or a task file.
#include <cctype>
#include <charconv>
#include <limits>

#include "build_context.h"
#include "builders.h"
#include "interpolate.h"

namespace baton::pipelines {

namespace {

const std::vector<std::string> kTaskFields = {
    "platform", "image_resource", "rootfs_uri", "inputs",           "outputs",
    "caches",   "params",         "run",        "container_limits", "hermetic"};
const std::vector<std::string> kImageFields = {"type", "source", "params", "version"};
const std::vector<std::string> kInputFields = {"name", "path", "optional"};
const std::vector<std::string> kOutputFields = {"name", "path"};
const std::vector<std::string> kCacheFields = {"path"};
const std::vector<std::string> kRunFields = {"path", "args", "dir", "user"};
const std::vector<std::string> kLimitFields = {"cpu", "memory"};

ImageResource BuildImageResource(const YamlNode& node, BuildContext& ctx) {
  ImageResource image;
  image.mark = node.mark;
  CheckFields(node, kImageFields, "image_resource", ctx);
  image.type = ReadString(node.Find("type"), "image_resource.type", ctx);
  if (image.type.empty()) {
    ctx.diags.Error(node.mark, "image_resource has no `type`",
                    "add a resource type, e.g. `type: registry-image`");
  }
  image.source = ReadJsonMap(node.Find("source"), "image_resource.source", ctx);
  image.params = ReadJsonMap(node.Find("params"), "image_resource.params", ctx);
  if (const YamlNode* v = node.Find("version"); v && !v->IsNull()) image.version = ToJson(*v);
  return image;
}

// Calls `fn(item)` for each map in a list field, reporting other shapes.
template <typename Fn>
void ForEachMapItem(const YamlNode* list, const std::string& field, BuildContext& ctx, Fn fn) {
  if (!list || list->IsNull() || IsVarRefScalar(*list)) return;
  if (!list->IsSequence()) {
    ctx.diags.Error(list->mark, "`" + field + "` must be a list, got " + list->KindName());
    return;
  }
  for (size_t i = 0; i < list->items.size(); ++i) {
    const YamlNode& item = *list->items[i];
    if (!item.IsMap()) {
      ctx.diags.Error(item.mark,
                      "each entry of `" + field + "` must be a map, got " + item.KindName());
      continue;
    }
    fn(item, i);
  }
}

void BuildInputsOutputs(const YamlNode& node, TaskConfig& config, BuildContext& ctx) {
  ForEachMapItem(node.Find("inputs"), "inputs", ctx, [&](const YamlNode& item, size_t i) {
    CheckFields(item, kInputFields, "task input", ctx);
    TaskInput input{ReadString(item.Find("name"), "inputs.name", ctx),
                    ReadString(item.Find("path"), "inputs.path", ctx),
                    ReadBool(item.Find("optional"), "inputs.optional", false, ctx), item.mark};
    CheckArtifactName(item.Find("name"), "inputs.name", ctx);
    CheckRelativePath(item.Find("path"), "inputs.path", ctx);
    if (input.name.empty()) {
      ctx.diags.Error(item.mark, "input in position " + std::to_string(i) + " is missing a name");
    }
    if (input.path.empty()) input.path = input.name;
    config.inputs.push_back(std::move(input));
  });
  ForEachMapItem(node.Find("outputs"), "outputs", ctx, [&](const YamlNode& item, size_t i) {
    CheckFields(item, kOutputFields, "task output", ctx);
    TaskOutput output{ReadString(item.Find("name"), "outputs.name", ctx),
                      ReadString(item.Find("path"), "outputs.path", ctx), item.mark};
    CheckArtifactName(item.Find("name"), "outputs.name", ctx);
    CheckRelativePath(item.Find("path"), "outputs.path", ctx);
    if (output.name.empty()) {
      ctx.diags.Error(item.mark, "output in position " + std::to_string(i) + " is missing a name");
    }
    if (output.path.empty()) output.path = output.name;
    config.outputs.push_back(std::move(output));
  });
  ForEachMapItem(node.Find("caches"), "caches", ctx, [&](const YamlNode& item, size_t) {
    CheckFields(item, kCacheFields, "task cache", ctx);
    TaskCache cache{ReadString(item.Find("path"), "caches.path", ctx), item.mark};
    if (!cache.path.empty()) CheckRelativePath(item.Find("path"), "caches.path", ctx);
    if (cache.path.empty()) ctx.diags.Error(item.mark, "cache is missing a `path`");
    config.caches.push_back(std::move(cache));
  });
}

RunConfig BuildRun(const YamlNode* node, BuildContext& ctx) {
  RunConfig run;
  if (!ExpectMap(node, "run", ctx)) return run;
  run.mark = node->mark;
  CheckFields(*node, kRunFields, "task `run`", ctx);
  run.path = ReadString(node->Find("path"), "run.path", ctx);
  run.args = ReadStringList(node->Find("args"), "run.args", ctx);
  run.dir = ReadString(node->Find("dir"), "run.dir", ctx);
  run.user = ReadString(node->Find("user"), "run.user", ctx);
  return run;
}

std::optional<int64_t> ReadMemory(const YamlNode* node, BuildContext& ctx) {
  if (!node || node->IsNull()) return std::nullopt;
  if (node->IsScalar()) {
    if (IsVarRefScalar(*node)) return std::nullopt;
    if (auto bytes = ParseMemorySize(node->value)) return *bytes;
  }
  ctx.diags.Error(node->mark, "invalid memory limit `" + node->value + "`",
                  "use a number of bytes or a size like `512MB` or `1GB`");
  return std::nullopt;
}

std::optional<ContainerLimits> BuildLimits(const YamlNode* node, BuildContext& ctx) {
  if (!ExpectMap(node, "container_limits", ctx)) return std::nullopt;
  CheckFields(*node, kLimitFields, "container_limits", ctx);
  ContainerLimits limits;
  if (const YamlNode* cpu = node->Find("cpu"); cpu && !cpu->IsNull()) {
    int64_t shares = ReadInt(cpu, "container_limits.cpu", -1, ctx);
    if (shares >= 0) limits.cpu = shares;
  }
  limits.memory = ReadMemory(node->Find("memory"), ctx);
  return limits;
}

void CheckRequired(const YamlNode& node, const TaskConfig& config, BuildContext& ctx) {
  if (config.platform.empty() && !node.Find("platform")) {
    ctx.diags.Error(node.mark, "task config is missing 'platform'", "add `platform: linux`");
  }
  const YamlNode* run = node.Find("run");
  if (!run) {
    ctx.diags.Error(node.mark, "task config is missing `run` (the path to executable to run)",
                    "add `run: {path: sh, args: [-c, ...]}`");
  } else if (run->IsMap() && config.run.path.empty()) {
    ctx.diags.Error(run->mark, "task config is missing path to executable to run (`run.path`)");
  }
}

}  // namespace

std::optional<int64_t> ParseMemorySize(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return std::nullopt;
  int64_t number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc() || ptr != text.data() + i) return std::nullopt;
  std::string unit;
  for (char c : text.substr(i)) unit += static_cast<char>(std::toupper(c));
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"", 1},           {"B", 1},         {"K", 1LL << 10},  {"KB", 1LL << 10}, {"M", 1LL << 20},
      {"MB", 1LL << 20}, {"G", 1LL << 30}, {"GB", 1LL << 30}, {"T", 1LL << 40},  {"TB", 1LL << 40}};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    if (number > std::numeric_limits<int64_t>::max() / factor) return std::nullopt;
    return number * factor;
  }
  return std::nullopt;
}

TaskConfig BuildTaskConfig(const YamlNode& node, BuildContext& ctx) {
  TaskConfig config;
  config.mark = node.mark;
  CheckFields(node, kTaskFields, "task config", ctx);
  config.platform = ReadString(node.Find("platform"), "platform", ctx);
  if (const YamlNode* image = node.Find("image_resource");
      ExpectMap(image, "image_resource", ctx)) {
    config.image_resource = BuildImageResource(*image, ctx);
  }
  config.rootfs_uri = ReadString(node.Find("rootfs_uri"), "rootfs_uri", ctx);
  BuildInputsOutputs(node, config, ctx);
  if (const YamlNode* params = node.Find("params"); ExpectMap(params, "params", ctx)) {
    for (const auto& [k, v] : params->entries) config.params[k->value] = ToJson(*v);
  }
  config.run = BuildRun(node.Find("run"), ctx);
  config.container_limits = BuildLimits(node.Find("container_limits"), ctx);
  config.hermetic = ReadBool(node.Find("hermetic"), "hermetic", false, ctx);
  CheckRequired(node, config, ctx);
  return config;
}

}  // namespace baton::pipelines
