#include "baton/pipelines/pipeline_config.h"

namespace baton::pipelines {

const char* ToString(StepKind k) {
  switch (k) {
    case StepKind::kGet:
      return "get";
    case StepKind::kPut:
      return "put";
    case StepKind::kTask:
      return "task";
    case StepKind::kSetPipeline:
      return "set_pipeline";
    case StepKind::kLoadVar:
      return "load_var";
    case StepKind::kInParallel:
      return "in_parallel";
    case StepKind::kDo:
      return "do";
    case StepKind::kTry:
      return "try";
  }
  return "unknown";
}

Step::Step(const Step& other)
    : body(std::visit(
          [](const auto& b) -> decltype(body) {
            using T = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<T, TryStep>) {
              TryStep copy;
              if (b.step) copy.step = std::make_unique<Step>(*b.step);
              return copy;
            } else {
              return b;
            }
          },
          other.body)),
      across(other.across),
      across_fail_fast(other.across_fail_fast),
      timeout(other.timeout),
      timeout_text(other.timeout_text),
      attempts(other.attempts),
      tags(other.tags),
      on_success(other.on_success),
      on_failure(other.on_failure),
      on_error(other.on_error),
      on_abort(other.on_abort),
      ensure(other.ensure),
      mark(other.mark),
      path(other.path) {}

Step& Step::operator=(const Step& other) {
  if (this != &other) *this = Step(other);
  return *this;
}

std::string Step::DisplayName() const {
  return std::visit(
      [this](const auto& b) -> std::string {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, GetStep> || std::is_same_v<T, PutStep> ||
                      std::is_same_v<T, TaskStep> || std::is_same_v<T, SetPipelineStep> ||
                      std::is_same_v<T, LoadVarStep>) {
          return b.name;
        } else {
          return ToString(kind());
        }
      },
      body);
}

int Job::EffectiveMaxInFlight() const {
  if (serial || !serial_groups.empty()) return 1;
  return max_in_flight;
}

namespace {
template <typename T>
const T* FindByName(const std::vector<T>& items, std::string_view name) {
  for (const auto& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

void VisitHooks(const Step& s, const std::function<void(const Step&)>& fn);

void Visit(const Step& s, const std::function<void(const Step&)>& fn) {
  fn(s);
  if (auto* p = std::get_if<InParallelStep>(&s.body)) ForEachStep(p->steps, fn);
  if (auto* d = std::get_if<DoStep>(&s.body)) ForEachStep(d->steps, fn);
  if (auto* t = std::get_if<TryStep>(&s.body); t && t->step) Visit(*t->step, fn);
  VisitHooks(s, fn);
}

void VisitHooks(const Step& s, const std::function<void(const Step&)>& fn) {
  for (const auto* hook : {&s.on_success, &s.on_failure, &s.on_error, &s.on_abort, &s.ensure}) {
    if (*hook) Visit(**hook, fn);
  }
}
}  // namespace

const Job* PipelineConfig::FindJob(std::string_view name) const { return FindByName(jobs, name); }
const Resource* PipelineConfig::FindResource(std::string_view name) const {
  return FindByName(resources, name);
}
const ResourceType* PipelineConfig::FindResourceType(std::string_view name) const {
  return FindByName(resource_types, name);
}

void ForEachStep(const std::vector<Step>& steps, const std::function<void(const Step&)>& fn) {
  for (const auto& s : steps) Visit(s, fn);
}

void ForEachStep(const Job& job, const std::function<void(const Step&)>& fn) {
  ForEachStep(job.plan, fn);
  for (const auto* hook :
       {&job.on_success, &job.on_failure, &job.on_error, &job.on_abort, &job.ensure}) {
    if (*hook) Visit(**hook, fn);
  }
}

}  // namespace baton::pipelines
