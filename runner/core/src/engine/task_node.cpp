// The task step: config (inline or `file:`), inputs and outputs, the RunTask action.
#include "baton/common/path_beneath.h"
#include "baton/common/strings.h"
#include "baton/pipelines/loader.h"
#include "engine/engine_nodes.h"
#include "engine/interpolation.h"

namespace baton::runner::engine {
namespace {

class TaskNode : public LeafNode {
 public:
  TaskNode(State& s, Node* p, Context c, const pipelines::Step& step)
      : LeafNode(s, p, std::move(c), step), task_(std::get<pipelines::TaskStep>(step.body)) {}

 protected:
  void Begin() override {
    RuntimeVars vars(*ctx_.locals, *ctx_.secret_locals, state_.var_sources());
    InterpolateStep(task_, vars);
    if (!Settle(vars)) return;
    if (task_.config) return Configure(*task_.config);
    auto file = ResolveFile(task_.file, "task file");
    if (!file.ok()) return FinishStep(Outcome::Errored(file.status().message()));
    load_action_ = Issue(LoadFile{0, {}, file->first.volume, file->second});
  }

  void OnActionDone(ActionId id, const ActionResult& result) override {
    if (id == load_action_) return OnConfigFile(result);
    if (id == image_action_) return OnImageFetched(result);
    Outcome outcome = ToOutcome(result);
    if (result.kind != ActionResult::Kind::kErrored) RegisterOutputs();
    FinishStep(outcome, result.exit_code);
  }

 private:
  void OnConfigFile(const ActionResult& result) {
    if (result.kind != ActionResult::Kind::kSucceeded) {
      return FinishStep(Outcome::Errored("task config '" + task_.file +
                                         "' could not be read: " + result.message));
    }
    pipelines::Vars vars;
    if (task_.vars.is_object()) {
      for (const auto& [k, v] : task_.vars.items()) vars.Set(k, v);
    }
    pipelines::LoadOptions options;
    options.file_name = task_.file;
    options.vars = &vars;
    pipelines::TaskLoad load = pipelines::LoadTaskConfig(result.content, options);
    if (!load.ok()) {
      std::string rendered = pipelines::RenderAll(load.diagnostics, result.content);
      return FinishStep(Outcome::Errored("invalid task config '" + task_.file + "':\n" +
                                         std::string(Trim(rendered))));
    }
    Configure(std::move(*load.config));
  }

  void Configure(pipelines::TaskConfig config) {
    RuntimeVars vars(*ctx_.locals, *ctx_.secret_locals, state_.var_sources());
    InterpolateConfig(config, vars);
    if (!Settle(vars)) return;
    if (std::string problem = PathProblem(config); !problem.empty()) {
      return FinishStep(Outcome::Errored("task `" + task_.name + "`: " + problem));
    }
    RunTask run;
    std::vector<std::string> missing;
    for (const auto& input : config.inputs) {
      std::string artifact = Mapped(task_.input_mapping, input.name);
      const Artifact* found = state_.FindArtifact(artifact);
      if (found == nullptr) {
        if (!input.optional) missing.push_back(input.name);
        continue;
      }
      run.inputs.push_back({input.name, PathOf(input.path, input.name), found->volume});
    }
    if (!missing.empty()) {
      return FinishStep(Outcome::Errored("missing inputs: " + Join(missing, ", ")));
    }
    if (!task_.image.empty()) {
      const Artifact* image = state_.FindArtifact(task_.image);
      if (image == nullptr) {
        return FinishStep(Outcome::Errored("missing image artifact: " + task_.image));
      }
      run.image = image->volume;
      run.image_origin = image->origin;
    }
    for (const auto& output : config.outputs) {
      run.outputs.push_back({output.name, PathOf(output.path, output.name), state_.NewVolume()});
    }
    for (const auto& cache : config.caches) run.cache_paths.push_back(cache.path);
    run.params = config.params;
    if (task_.params.is_object()) {
      for (const auto& [k, v] : task_.params.items()) run.params[k] = v;
    }
    run.privileged = task_.privileged;
    run.tags = step_.tags;
    run.hermetic = task_.hermetic.value_or(config.hermetic);
    run.config = std::move(config);
    outputs_ = run.outputs;
    if (run.image || !FetchesImage(run.config)) {
      Issue(std::move(run));
      return;
    }
    FetchImage(std::move(run));
  }

  // The checks validation made (pipelines/build_paths.cpp), again on the interpolated values:
  // a ((var)) may only now have become a path. "" when every path and name is fine.
  std::string PathProblem(const pipelines::TaskConfig& config) const {
    auto path = [](const std::string& what, const std::string& p) -> std::string {
      std::string problem = p.empty() ? "" : RelativePathProblem(p);
      return problem.empty() ? "" : what + " `" + p + "` is not allowed: " + problem;
    };
    auto name = [](const std::string& what, const std::string& n) -> std::string {
      std::string problem = ArtifactNameProblem(n);
      return problem.empty() ? "" : what + " `" + n + "` is not a valid artifact name: " + problem;
    };
    std::vector<std::string> found;
    for (const auto& i : config.inputs) found.push_back(path("input path", i.path));
    for (const auto& o : config.outputs) found.push_back(path("output path", o.path));
    for (const auto& c : config.caches) found.push_back(path("cache path", c.path));
    for (const auto& [k, v] : task_.input_mapping) found.push_back(name("input_mapping", v));
    for (const auto& [k, v] : task_.output_mapping) found.push_back(name("output_mapping", v));
    for (const auto& o : config.outputs) found.push_back(name("output name", o.name));
    for (auto& f : found) {
      if (!f.empty()) return f;
    }
    return "";
  }

  // image_resource types the executor reads directly (rootfs); every other type, registry-image
  // included, is checked and fetched like a get.
  static bool FetchesImage(const pipelines::TaskConfig& config) {
    return config.image_resource && config.image_resource->type != "rootfs";
  }

  // Concourse checks and gets a task's image_resource (with the pipeline's resource types)
  // before the task runs; the task then runs on the fetched image.
  void FetchImage(RunTask run) {
    const pipelines::ImageResource& image = *run.config.image_resource;
    RunGet get;
    get.resource = "image_resource";
    get.type = image.type;
    get.source = image.source;
    get.version = image.version.is_object() ? image.version : Json();
    get.params = image.params.is_object() ? image.params : Json::object();
    get.volume = state_.NewVolume();
    get.for_image = true;
    get.tags = run.tags;  // the image is fetched where the task may run
    if (const auto* type = state_.FindResourceType(image.type)) get.custom_type = *type;
    run.image = get.volume;
    run.image_origin = {"", image.type, image.source};
    pending_run_ = std::move(run);
    image_action_ = Issue(std::move(get));
  }

  void OnImageFetched(const ActionResult& result) {
    if (result.kind != ActionResult::Kind::kSucceeded) {
      return FinishStep(Outcome::Errored("fetching the image (" +
                                         pending_run_->config.image_resource->type +
                                         "): " + result.message));
    }
    RunTask run = std::move(*pending_run_);
    pending_run_.reset();
    Issue(std::move(run));
  }

  void RegisterOutputs() {
    for (const auto& output : outputs_) {
      state_.artifacts()[Mapped(task_.output_mapping, output.name)] = Artifact{output.volume, {}};
    }
  }

  static std::string Mapped(const std::map<std::string, std::string>& mapping,
                            const std::string& name) {
    auto it = mapping.find(name);
    return it == mapping.end() ? name : it->second;
  }
  static std::string PathOf(const std::string& path, const std::string& name) {
    return path.empty() ? name : path;
  }

  pipelines::TaskStep task_;
  ActionId load_action_ = 0;
  ActionId image_action_ = 0;
  std::optional<RunTask> pending_run_;  // waiting for its image
  std::vector<TaskMount> outputs_;
};

}  // namespace

std::unique_ptr<Node> MakeTaskNode(State& s, Node* p, Context c, const pipelines::Step& step) {
  return std::make_unique<TaskNode>(s, p, std::move(c), step);
}

}  // namespace baton::runner::engine
