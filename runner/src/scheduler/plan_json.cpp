#include "baton/runner/plan_json.h"

#include <variant>

namespace baton::runner {
namespace {

Json StepJson(const pipelines::Step& step);

Json StepsJson(const std::vector<pipelines::Step>& steps) {
  Json out = Json::array();
  for (const auto& s : steps) out.push_back(StepJson(s));
  return out;
}

// The step's own kind and what identifies it; never params, vars or task config values.
Json BodyJson(const pipelines::Step& step) {
  using namespace pipelines;
  return std::visit(
      [](const auto& b) -> Json {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, GetStep>) {
          Json j = {{"name", b.name}, {"resource", b.resource}, {"trigger", b.trigger}};
          if (!b.passed.empty()) j["passed"] = b.passed;
          if (b.version && b.version->kind == VersionSpec::Kind::kEvery) j["version"] = "every";
          if (b.version && b.version->kind == VersionSpec::Kind::kPinned) j["version"] = "pinned";
          return {{"get", j}};
        } else if constexpr (std::is_same_v<T, PutStep>) {
          Json j = {{"name", b.name}, {"resource", b.resource}};
          if (b.no_get) j["no_get"] = true;
          return {{"put", j}};
        } else if constexpr (std::is_same_v<T, TaskStep>) {
          Json j = {{"name", b.name}, {"privileged", b.privileged}};
          if (!b.file.empty()) j["file"] = b.file;
          if (!b.image.empty()) j["image"] = b.image;
          return {{"task", j}};
        } else if constexpr (std::is_same_v<T, SetPipelineStep>) {
          return {{"set_pipeline", {{"name", b.name}, {"file", b.file}}}};
        } else if constexpr (std::is_same_v<T, LoadVarStep>) {
          return {{"load_var", {{"name", b.name}, {"file", b.file}, {"reveal", b.reveal}}}};
        } else if constexpr (std::is_same_v<T, InParallelStep>) {
          Json j = {{"steps", StepsJson(b.steps)}, {"fail_fast", b.fail_fast}};
          if (b.limit > 0) j["limit"] = b.limit;
          return {{"in_parallel", j}};
        } else if constexpr (std::is_same_v<T, DoStep>) {
          return {{"do", StepsJson(b.steps)}};
        } else {
          return {{"try", b.step ? StepJson(*b.step) : Json()}};
        }
      },
      step.body);
}

template <typename WithHooks>
void AddHooks(const WithHooks& owner, Json& out) {
  const std::pair<const char*, const std::shared_ptr<pipelines::Step>*> hooks[] = {
      {"on_success", &owner.on_success},
      {"on_failure", &owner.on_failure},
      {"on_error", &owner.on_error},
      {"on_abort", &owner.on_abort},
      {"ensure", &owner.ensure}};
  for (const auto& [name, hook] : hooks) {
    if (*hook) out[name] = StepJson(**hook);
  }
}

Json StepJson(const pipelines::Step& step) {
  Json out = BodyJson(step);
  if (!step.path.empty()) out["path"] = step.path;
  if (!step.across.empty()) {
    Json across = Json::array();
    for (const auto& a : step.across) {
      across.push_back(
          {{"var", a.var},
           {"max_in_flight", a.max_in_flight_all ? Json("all") : Json(a.max_in_flight)}});
    }
    out["across"] = across;
  }
  if (!step.timeout_text.empty()) out["timeout"] = step.timeout_text;
  if (step.attempts > 1) out["attempts"] = step.attempts;
  if (!step.tags.empty()) out["tags"] = step.tags;
  AddHooks(step, out);
  return out;
}

}  // namespace

Json JobPlanJson(const pipelines::Job& job) {
  Json out = {{"schema", "baton.plan.v1"}, {"job", job.name}, {"plan", StepsJson(job.plan)}};
  AddHooks(job, out);
  return out;
}

}  // namespace baton::runner
