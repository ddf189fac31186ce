// Cross-reference validation with Concourse's rules (atc/configvalidate/validate.go,
// atc/step_validator.go). Hash maps keep it linear in the size of the pipeline.
#include "baton/pipelines/validate.h"

#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "baton/common/strings.h"
#include "baton/pipelines/graph.h"
#include "build_context.h"

namespace baton::pipelines {

namespace {

bool HasVar(std::string_view s) { return s.find("((") != std::string_view::npos; }

std::string Hint(std::string_view word, const std::vector<std::string>& names) {
  if (auto close = SuggestName(word, names)) return "did you mean `" + *close + "`?";
  return {};
}

template <typename T>
std::vector<std::string> NamesOf(const std::vector<T>& items) {
  std::vector<std::string> names;
  names.reserve(items.size());
  for (const auto& item : items) names.push_back(item.name);
  return names;
}

// Reports names defined twice; returns name -> first index.
template <typename T, typename MarkFn>
std::unordered_map<std::string, size_t> CheckUnique(const std::vector<T>& items,
                                                    const std::string& kind, MarkFn mark_of,
                                                    Diagnostics& diags) {
  std::unordered_map<std::string, size_t> index;
  index.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].name.empty()) continue;
    auto [it, inserted] = index.emplace(items[i].name, i);
    if (inserted) continue;
    diags.Error(mark_of(items[i]),
                kind + " name `" + items[i].name + "` is used twice (first at line " +
                    std::to_string(mark_of(items[it->second]).line) + ")",
                "Duplicate names are not allowed; rename one of them.");
  }
  return index;
}

void CheckIdentifier(const std::string& name, const std::string& kind, SourceMark mark,
                     Diagnostics& diags) {
  if (!IsPrintableText(name)) {
    diags.Error(mark, kind + " name contains control characters or invalid UTF-8",
                "names may hold printable text only; use lowercase letters, numbers, `-`, `_` "
                "and `.`, starting with a letter");
    return;
  }
  if (name.empty() || HasVar(name) || IsValidIdentifier(name)) return;
  diags.Warning(mark, kind + " `" + name + "` is not a valid identifier",
                "use lowercase letters, numbers, `-`, `_` and `.`, starting with a letter");
}

class Validator {
 public:
  Validator(const PipelineConfig& config, Diagnostics& diags) : config_(config), diags_(diags) {}
  void Run();

 private:
  void CheckNames();
  void IndexJobResources();
  void CheckJob(const Job& job);
  void CheckStep(const Job& job, const Step& step, std::unordered_set<std::string>& get_names);
  void CheckGet(const Job& job, const Step& step, const GetStep& get);
  void CheckPassed(const GetStep& get, const std::string& passed, SourceMark mark);
  void CheckResourceRef(const std::string& resource, SourceMark mark, const char* step_kind);
  void CheckUnusedResources();
  void CheckCycles();
  void CheckGroups();

  const PipelineConfig& config_;
  Diagnostics& diags_;
  std::unordered_map<std::string, size_t> jobs_;
  std::unordered_map<std::string, size_t> resources_;
  std::vector<std::string> job_names_;
  std::vector<std::string> resource_names_;
  // job name -> resources it gets or puts
  std::unordered_map<std::string, std::unordered_set<std::string>> job_resources_;
  std::unordered_set<std::string> used_resources_;
};

void Validator::Run() {
  CheckNames();
  IndexJobResources();
  for (const auto& job : config_.jobs) CheckJob(job);
  CheckUnusedResources();
  CheckCycles();
  CheckGroups();
}

void Validator::CheckNames() {
  auto name_mark = [](const auto& item) { return item.name_mark; };
  auto mark = [](const auto& item) { return item.mark; };
  jobs_ = CheckUnique(config_.jobs, "job", name_mark, diags_);
  resources_ = CheckUnique(config_.resources, "resource", name_mark, diags_);
  CheckUnique(config_.resource_types, "resource type", mark, diags_);
  CheckUnique(config_.groups, "group", mark, diags_);
  CheckUnique(config_.var_sources, "var source", mark, diags_);
  job_names_ = NamesOf(config_.jobs);
  resource_names_ = NamesOf(config_.resources);
  for (const auto& j : config_.jobs) CheckIdentifier(j.name, "job", j.name_mark, diags_);
  for (const auto& r : config_.resources) {
    CheckIdentifier(r.name, "resource", r.name_mark, diags_);
  }
  for (const auto& t : config_.resource_types) {
    CheckIdentifier(t.name, "resource type", t.mark, diags_);
  }
  for (const auto& g : config_.groups) CheckIdentifier(g.name, "group", g.mark, diags_);
  for (const auto& v : config_.var_sources) CheckIdentifier(v.name, "var source", v.mark, diags_);
}

void Validator::IndexJobResources() {
  job_resources_.reserve(config_.jobs.size());
  for (const auto& job : config_.jobs) {
    auto& used = job_resources_[job.name];
    ForEachStep(job, [&](const Step& step) {
      if (auto* get = std::get_if<GetStep>(&step.body)) used.insert(get->resource);
      if (auto* put = std::get_if<PutStep>(&step.body)) used.insert(put->resource);
    });
    used_resources_.insert(used.begin(), used.end());
  }
}

void Validator::CheckJob(const Job& job) {
  std::unordered_set<std::string> get_names;
  ForEachStep(job, [&](const Step& step) { CheckStep(job, step, get_names); });
}

void Validator::CheckStep(const Job& job, const Step& step,
                          std::unordered_set<std::string>& get_names) {
  std::string name = step.DisplayName();
  switch (step.kind()) {
    case StepKind::kGet: {
      const auto& get = std::get<GetStep>(step.body);
      if (!get_names.insert(get.name).second) {
        diags_.Error(
            step.mark, "get step name `" + get.name + "` is repeated in job `" + job.name + "`",
            "give one of them another name and set `resource: " + get.resource + "`", step.path);
      }
      CheckGet(job, step, get);
      break;
    }
    case StepKind::kPut: {
      const auto& put = std::get<PutStep>(step.body);
      CheckResourceRef(put.resource, put.resource_mark, "put");
      CheckIdentifier(name, "put step name", step.mark, diags_);
      break;
    }
    case StepKind::kTask:
    case StepKind::kSetPipeline:
    case StepKind::kLoadVar:
      CheckIdentifier(name, std::string(ToString(step.kind())) + " step name", step.mark, diags_);
      break;
    default:
      break;
  }
  for (const auto& var : step.across) CheckIdentifier(var.var, "across var", var.mark, diags_);
}

void Validator::CheckGet(const Job&, const Step& step, const GetStep& get) {
  CheckIdentifier(get.name, "get step name", step.mark, diags_);
  CheckResourceRef(get.resource, get.resource_mark, "get");
  for (size_t i = 0; i < get.passed.size(); ++i) {
    SourceMark mark = i < get.passed_marks.size() ? get.passed_marks[i] : step.mark;
    CheckPassed(get, get.passed[i], mark);
  }
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t i = 0; i <= text.size(); ++i) {
      if (GlobMatch(pattern.substr(1), text.substr(i))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  if (pattern[0] != '?' && pattern[0] != text[0]) return false;
  return GlobMatch(pattern.substr(1), text.substr(1));
}

void Validator::CheckPassed(const GetStep& get, const std::string& passed, SourceMark mark) {
  if (HasVar(passed) || HasVar(get.resource)) return;
  std::vector<const std::string*> matched;
  if (passed.find_first_of("*?") != std::string::npos) {
    for (const auto& name : job_names_) {
      if (GlobMatch(passed, name)) matched.push_back(&name);
    }
  } else if (jobs_.count(passed)) {
    matched.push_back(&passed);
  }
  if (matched.empty()) {
    diags_.Error(mark, "unknown job `" + passed + "` in `passed:` of get step `" + get.name + "`",
                 Hint(passed, job_names_));
    return;
  }
  for (const std::string* job : matched) {
    if (job_resources_[*job].count(get.resource)) continue;
    diags_.Error(mark,
                 "job `" + *job + "` does not interact with resource `" + get.resource +
                     "` (named in `passed:`)",
                 "`passed:` may only name jobs that get or put `" + get.resource + "`");
  }
}

void Validator::CheckResourceRef(const std::string& resource, SourceMark mark,
                                 const char* step_kind) {
  if (HasVar(resource) || resources_.count(resource)) return;
  std::string hint = Hint(resource, resource_names_);
  if (hint.empty()) hint = "declare it under `resources:`";
  diags_.Error(mark, std::string("unknown resource `") + resource + "` in " + step_kind + " step",
               hint);
}

void Validator::CheckUnusedResources() {
  for (const auto& r : config_.resources) {
    if (r.name.empty() || used_resources_.count(r.name)) continue;
    diags_.Error(r.name_mark, "invalid resources: resource '" + r.name + "' is not used",
                 "use it in a get or put step of a job, or remove it", "resources." + r.name);
  }
}

void Validator::CheckCycles() {
  JobGraph graph = JobGraph::Build(config_);
  std::vector<std::string> cycle = graph.FindCycle();
  if (cycle.size() < 2) return;
  // Report at the earliest `passed:` entry on the cycle, whichever job the search started from.
  std::unordered_map<std::string, SourceMark> edge_marks;
  for (const auto& edge : graph.edges()) edge_marks.emplace(edge.from + '\n' + edge.to, edge.mark);
  SourceMark mark;
  for (size_t i = 0; i + 1 < cycle.size(); ++i) {
    auto it = edge_marks.find(cycle[i] + '\n' + cycle[i + 1]);
    if (it == edge_marks.end()) continue;
    const SourceMark& m = it->second;
    bool earlier = m.line < mark.line || (m.line == mark.line && m.column < mark.column);
    if (!mark.known() || earlier) mark = m;
  }
  diags_.Error(mark, "jobs form a cycle through `passed:`: " + Join(cycle, " -> "),
               "a job cannot (indirectly) require versions that passed through itself");
}

void Validator::CheckGroups() {
  std::unordered_set<std::string> grouped;
  for (const auto& g : config_.groups) {
    for (size_t i = 0; i < g.jobs.size(); ++i) {
      SourceMark mark = i < g.job_marks.size() ? g.job_marks[i] : g.mark;
      if (jobs_.count(g.jobs[i])) {
        grouped.insert(g.jobs[i]);
      } else {
        diags_.Error(mark, "group '" + g.name + "' has unknown job '" + g.jobs[i] + "'",
                     Hint(g.jobs[i], job_names_));
      }
    }
    for (size_t i = 0; i < g.resources.size(); ++i) {
      SourceMark mark = i < g.resource_marks.size() ? g.resource_marks[i] : g.mark;
      if (resources_.count(g.resources[i])) continue;
      diags_.Error(mark, "group '" + g.name + "' has unknown resource '" + g.resources[i] + "'",
                   Hint(g.resources[i], resource_names_));
    }
  }
  if (config_.groups.empty()) return;
  for (const auto& job : config_.jobs) {
    if (job.name.empty() || grouped.count(job.name)) continue;
    diags_.Error(job.name_mark, "job '" + job.name + "' belongs to no group",
                 "add it to the `jobs:` of a group");
  }
}

}  // namespace

bool IsPrintableText(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    int extra = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (extra < 0 || i + static_cast<size_t>(extra) >= text.size()) return false;
    uint32_t cp = c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;  // overlong, out of range or a surrogate
    }
    if (cp <= 0x9F || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF) {
      return false;
    }
    i += 1 + extra;
  }
  return true;
}

bool IsValidIdentifier(std::string_view name) {
  if (name.empty() || !IsPrintableText(name)) return false;
  auto is_letter = [](unsigned char c) { return (c >= 'a' && c <= 'z') || c >= 0x80; };
  if (!is_letter(static_cast<unsigned char>(name[0]))) return false;
  for (unsigned char c : name) {
    if (!is_letter(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

void CheckVarSources(const PipelineConfig& config, Diagnostics& diags);  // validate_var_sources

void ValidatePipeline(const PipelineConfig& config, Diagnostics& diags) {
  Validator(config, diags).Run();
  CheckVarSources(config, diags);
}

}  // namespace baton::pipelines
