// The pipeline's top level: resources, resource types, jobs, groups, var sources, display.
#include "baton/common/strings.h"
#include "build_context.h"
#include "builders.h"
#include "interpolate.h"

namespace baton::pipelines {

namespace {

const std::vector<std::string> kTopFields = {"resources", "resource_types", "jobs",
                                             "groups",    "var_sources",    "display"};
const std::vector<std::string> kJobFields = {"name",
                                             "plan",
                                             "serial",
                                             "serial_groups",
                                             "max_in_flight",
                                             "build_log_retention",
                                             "build_logs_to_retain",
                                             "public",
                                             "disable_manual_trigger",
                                             "interruptible",
                                             "old_name",
                                             "on_success",
                                             "on_failure",
                                             "on_error",
                                             "on_abort",
                                             "ensure"};
const std::vector<std::string> kRetentionFields = {"builds", "days", "minimum_succeeded_builds"};
const std::vector<std::string> kResourceFields = {
    "name",    "type", "source", "check_every", "check_timeout", "webhook_token",
    "version", "tags", "public", "icon",        "old_name",      "expose_build_created_by"};
const std::vector<std::string> kResourceTypeFields = {
    "name",        "type",     "source",
    "params",      "defaults", "privileged",
    "check_every", "tags",     "unique_version_history"};
const std::vector<std::string> kGroupFields = {"name", "jobs", "resources"};
const std::vector<std::string> kVarSourceFields = {"name", "type", "config"};
const std::vector<std::string> kDisplayFields = {"background_image", "background_filter"};

// Calls `fn(item, index)` for each map in a top-level list.
template <typename Fn>
void ForEachItem(const YamlNode& root, const char* field, BuildContext& ctx, Fn fn) {
  const YamlNode* list = root.Find(field);
  if (!list || list->IsNull()) return;
  if (!list->IsSequence()) {
    ctx.diags.Error(list->mark,
                    std::string("`") + field + "` must be a list, got " + list->KindName());
    return;
  }
  for (size_t i = 0; i < list->items.size(); ++i) {
    const YamlNode& item = *list->items[i];
    if (!item.IsMap()) {
      ctx.diags.Error(item.mark, std::string("each entry of `") + field + "` must be a map, got " +
                                     item.KindName());
      continue;
    }
    fn(item, i);
  }
}

// Reads `name`, reporting it missing as "<kind> in position N has no name".
std::string ReadName(const YamlNode& item, const std::string& kind, size_t index, SourceMark* mark,
                     BuildContext& ctx) {
  const YamlNode* name = item.Find("name");
  if (mark) *mark = name ? name->mark : item.mark;
  std::string value = ReadString(name, "name", ctx);
  if (value.empty()) {
    ctx.diags.Error(item.mark, kind + " in position " + std::to_string(index) + " has no name",
                    "add `name: ...`");
  }
  return value;
}

std::string Named(const std::string& kind, const std::string& name) {
  return kind + " `" + name + "`";
}

void BuildRetention(const YamlNode& node, Job& job, BuildContext& ctx) {
  const YamlNode* retention = node.Find("build_log_retention");
  const YamlNode* old = node.Find("build_logs_to_retain");
  if (old) {
    ctx.diags.Warning(KeyMark(node, "build_logs_to_retain"), "`build_logs_to_retain` is deprecated",
                      "use `build_log_retention: {builds: N}`");
  }
  if (retention && old) {
    ctx.diags.Error(
        KeyMark(node, "build_logs_to_retain"),
        "job `" + job.name + "` can't use both build_log_retention and build_logs_to_retain");
  }
  if (ExpectMap(retention, "build_log_retention", ctx)) {
    CheckFields(*retention, kRetentionFields, "build_log_retention", ctx);
    BuildLogRetention r;
    r.builds = static_cast<int>(ReadInt(retention->Find("builds"), "builds", 0, ctx));
    r.days = static_cast<int>(ReadInt(retention->Find("days"), "days", 0, ctx));
    r.minimum_succeeded_builds = static_cast<int>(
        ReadInt(retention->Find("minimum_succeeded_builds"), "minimum_succeeded_builds", 0, ctx));
    if (r.builds < 0 || r.days < 0 || r.minimum_succeeded_builds < 0) {
      ctx.diags.Error(retention->mark, "build_log_retention values must not be negative");
    }
    if (r.builds > 0 && r.minimum_succeeded_builds > r.builds) {
      ctx.diags.Error(retention->mark,
                      "build_log_retention.minimum_succeeded_builds is greater than builds");
    }
    job.build_log_retention = r;
  } else if (old && !retention) {
    BuildLogRetention r;
    r.builds = static_cast<int>(ReadInt(old, "build_logs_to_retain", 0, ctx));
    if (r.builds < 0) ctx.diags.Error(old->mark, "build_logs_to_retain must not be negative");
    job.build_log_retention = r;
  }
}

std::shared_ptr<Step> BuildJobHook(const YamlNode& node, const char* hook, const std::string& path,
                                   BuildContext& ctx) {
  const YamlNode* value = node.Find(hook);
  if (!value || value->IsNull()) return nullptr;
  return std::make_shared<Step>(BuildStep(*value, path + "." + hook, ctx));
}

Job BuildJob(const YamlNode& node, size_t index, BuildContext& ctx) {
  Job job;
  job.mark = node.mark;
  job.name = ReadName(node, "job", index, &job.name_mark, ctx);
  std::string path = "jobs." + (job.name.empty() ? "[" + std::to_string(index) + "]" : job.name);
  CheckFields(node, kJobFields, Named("job", job.name), ctx, path);
  if (const YamlNode* plan = node.Find("plan"); plan && !plan->IsNull()) {
    if (!plan->IsSequence()) {
      ctx.diags.Error(plan->mark,
                      "`plan` must be a list of steps, got " + std::string(plan->KindName()));
    } else {
      for (size_t i = 0; i < plan->items.size(); ++i) {
        job.plan.push_back(
            BuildStep(*plan->items[i], path + ".plan[" + std::to_string(i) + "]", ctx));
      }
    }
  }
  job.serial = ReadBool(node.Find("serial"), "serial", false, ctx);
  job.serial_groups = ReadStringList(node.Find("serial_groups"), "serial_groups", ctx);
  job.max_in_flight =
      static_cast<int>(ReadInt(node.Find("max_in_flight"), "max_in_flight", 0, ctx));
  if (job.max_in_flight < 0) {
    ctx.diags.Error(node.Find("max_in_flight")->mark, "`max_in_flight` must not be negative");
  }
  BuildRetention(node, job, ctx);
  job.public_ = ReadBool(node.Find("public"), "public", false, ctx);
  job.disable_manual_trigger =
      ReadBool(node.Find("disable_manual_trigger"), "disable_manual_trigger", false, ctx);
  job.interruptible = ReadBool(node.Find("interruptible"), "interruptible", false, ctx);
  job.old_name = ReadString(node.Find("old_name"), "old_name", ctx);
  job.on_success = BuildJobHook(node, "on_success", path, ctx);
  job.on_failure = BuildJobHook(node, "on_failure", path, ctx);
  job.on_error = BuildJobHook(node, "on_error", path, ctx);
  job.on_abort = BuildJobHook(node, "on_abort", path, ctx);
  job.ensure = BuildJobHook(node, "ensure", path, ctx);
  return job;
}

std::string ReadType(const YamlNode& node, const std::string& what, SourceMark* mark,
                     BuildContext& ctx) {
  const YamlNode* type = node.Find("type");
  *mark = type ? type->mark : node.mark;
  std::string value = ReadString(type, "type", ctx);
  if (value.empty()) ctx.diags.Error(node.mark, what + " has no type", "add `type: ...`");
  return value;
}

std::optional<Duration> ReadCheckEvery(const YamlNode& node, std::string* text, BuildContext& ctx) {
  const YamlNode* every = node.Find("check_every");
  if (every && every->IsScalar() && every->value == "never") {
    *text = "never";
    return std::nullopt;
  }
  return ReadDuration(every, "check_every", text, ctx);
}

Resource BuildResource(const YamlNode& node, size_t index, BuildContext& ctx) {
  Resource r;
  r.mark = node.mark;
  r.name = ReadName(node, "resource", index, &r.name_mark, ctx);
  CheckFields(node, kResourceFields, Named("resource", r.name), ctx, "resources." + r.name);
  r.type = ReadType(node, Named("resource", r.name), &r.type_mark, ctx);
  r.source = ReadJsonMap(node.Find("source"), "source", ctx);
  r.check_interval = ReadCheckEvery(node, &r.check_every, ctx);
  ReadDuration(node.Find("check_timeout"), "check_timeout", &r.check_timeout, ctx);
  r.webhook_token = ReadString(node.Find("webhook_token"), "webhook_token", ctx);
  if (const YamlNode* v = node.Find("version"); v && !v->IsNull()) r.version = ToJson(*v);
  r.tags = ReadStringList(node.Find("tags"), "tags", ctx);
  r.public_ = ReadBool(node.Find("public"), "public", false, ctx);
  r.icon = ReadString(node.Find("icon"), "icon", ctx);
  r.old_name = ReadString(node.Find("old_name"), "old_name", ctx);
  return r;
}

ResourceType BuildResourceType(const YamlNode& node, size_t index, BuildContext& ctx) {
  ResourceType t;
  t.mark = node.mark;
  SourceMark name_mark;
  t.name = ReadName(node, "resource type", index, &name_mark, ctx);
  t.mark = name_mark;
  CheckFields(node, kResourceTypeFields, Named("resource type", t.name), ctx,
              "resource_types." + t.name);
  t.type = ReadType(node, Named("resource type", t.name), &t.type_mark, ctx);
  t.source = ReadJsonMap(node.Find("source"), "source", ctx);
  t.params = ReadJsonMap(node.Find("params"), "params", ctx);
  t.defaults = ReadJsonMap(node.Find("defaults"), "defaults", ctx);
  t.privileged = ReadBool(node.Find("privileged"), "privileged", false, ctx);
  ReadCheckEvery(node, &t.check_every, ctx);
  t.tags = ReadStringList(node.Find("tags"), "tags", ctx);
  return t;
}

Group BuildGroup(const YamlNode& node, size_t index, BuildContext& ctx) {
  Group g;
  SourceMark name_mark;
  g.name = ReadName(node, "group", index, &name_mark, ctx);
  g.mark = name_mark;
  CheckFields(node, kGroupFields, Named("group", g.name), ctx, "groups." + g.name);
  g.jobs = ReadStringList(node.Find("jobs"), "jobs", ctx, &g.job_marks);
  g.resources = ReadStringList(node.Find("resources"), "resources", ctx, &g.resource_marks);
  return g;
}

VarSource BuildVarSource(const YamlNode& node, size_t index, BuildContext& ctx) {
  VarSource v;
  SourceMark name_mark;
  v.name = ReadName(node, "var source", index, &name_mark, ctx);
  v.mark = name_mark;
  CheckFields(node, kVarSourceFields, Named("var source", v.name), ctx);
  SourceMark type_mark;
  v.type = ReadType(node, Named("var source", v.name), &type_mark, ctx);
  v.config = ReadJsonMap(node.Find("config"), "config", ctx);
  return v;
}

void CheckTopLevel(const YamlNode& root, BuildContext& ctx) {
  for (const auto& [key, value] : root.entries) {
    std::string name = key->IsScalar()
                           ? key->value
                           : ToJson(*key).dump(-1, ' ', false, Json::error_handler_t::replace);
    if (std::find(kTopFields.begin(), kTopFields.end(), name) != kTopFields.end()) continue;
    std::string message = "unknown field \"" + name + "\" at the top level of the pipeline";
    auto close = SuggestName(name, kTopFields);
    if (ctx.options.strict) {
      ctx.diags.Error(key->mark, message,
                      close ? "did you mean `" + *close + "`?" : "remove it, or drop --strict");
    } else {
      ctx.diags.Warning(key->mark, message + " is ignored",
                        close ? "did you mean `" + *close + "`?"
                              : "fine for YAML anchors; --strict makes it an error");
    }
  }
}

}  // namespace

PipelineConfig BuildPipeline(const YamlNode& root, BuildContext& ctx) {
  PipelineConfig config;
  config.file = ctx.options.file_name;
  if (root.IsNull()) return config;
  if (!root.IsMap()) {
    ctx.diags.Error(root.mark, std::string("a pipeline must be a map, got ") + root.KindName(),
                    "start with `resources:` and `jobs:`");
    return config;
  }
  CheckTopLevel(root, ctx);
  ForEachItem(root, "resources", ctx, [&](const YamlNode& item, size_t i) {
    config.resources.push_back(BuildResource(item, i, ctx));
  });
  ForEachItem(root, "resource_types", ctx, [&](const YamlNode& item, size_t i) {
    config.resource_types.push_back(BuildResourceType(item, i, ctx));
  });
  ForEachItem(root, "jobs", ctx, [&](const YamlNode& item, size_t i) {
    config.jobs.push_back(BuildJob(item, i, ctx));
  });
  ForEachItem(root, "groups", ctx, [&](const YamlNode& item, size_t i) {
    config.groups.push_back(BuildGroup(item, i, ctx));
  });
  ForEachItem(root, "var_sources", ctx, [&](const YamlNode& item, size_t i) {
    config.var_sources.push_back(BuildVarSource(item, i, ctx));
  });
  if (const YamlNode* display = root.Find("display"); ExpectMap(display, "display", ctx)) {
    CheckFields(*display, kDisplayFields, "display", ctx);
    config.display =
        Display{ReadString(display->Find("background_image"), "background_image", ctx),
                ReadString(display->Find("background_filter"), "background_filter", ctx)};
  }
  return config;
}

}  // namespace baton::pipelines
