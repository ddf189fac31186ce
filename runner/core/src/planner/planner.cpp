#include "baton/runner/planner.h"

#include <algorithm>
#include <functional>

namespace baton::runner {
namespace {

using pipelines::GetStep;
using pipelines::Job;
using pipelines::Step;
using pipelines::VersionSpec;

// Upper bound on backtracking steps, so a pathological history cannot stall the scheduler.
constexpr int64_t kSearchBudget = 200000;

// True if every field of `pinned` has the same value in `version` (Concourse's partial match).
bool MatchesPin(const Json& pinned, const Json& version) {
  if (!pinned.is_object() || !version.is_object()) return false;
  for (const auto& [key, value] : pinned.items()) {
    auto it = version.find(key);
    if (it == version.end() || *it != value) return false;
  }
  return true;
}

std::vector<const VersionRecord*> NewestFirst(const std::vector<VersionRecord>& versions) {
  std::vector<const VersionRecord*> out;
  for (const auto& v : versions) {
    if (!v.disabled) out.push_back(&v);
  }
  std::sort(out.begin(), out.end(),
            [](const VersionRecord* a, const VersionRecord* b) { return a->order > b->order; });
  return out;
}

// Does some successful build of `job` carry `version_id` of `resource`?
bool PassedJob(const PlannerSnapshot& snap, const std::string& job, const std::string& resource,
               int64_t version_id) {
  auto it = snap.succeeded_builds.find(job);
  if (it == snap.succeeded_builds.end()) return false;
  for (const auto& b : it->second) {
    auto r = b.versions_by_resource.find(resource);
    if (r != b.versions_by_resource.end() && r->second.count(version_id)) return true;
  }
  return false;
}

struct Candidates {
  std::vector<const VersionRecord*> ordered;
  std::string empty_reason;
};

// Applies pins (API pin > step pin > resource config pin).
std::vector<const VersionRecord*> ApplyPins(const pipelines::PipelineConfig& config,
                                            const JobInput& input, const PlannerSnapshot& snap,
                                            std::vector<const VersionRecord*> all,
                                            std::string* reason) {
  auto keep = [&](auto pred, const std::string& what) {
    std::vector<const VersionRecord*> out;
    for (auto* v : all) {
      if (pred(*v)) out.push_back(v);
    }
    if (out.empty()) *reason = "pinned version of `" + input.resource + "` " + what;
    return out;
  };
  if (auto pin = snap.pins.find(input.resource); pin != snap.pins.end()) {
    return keep([&](const VersionRecord& v) { return v.id == pin->second; }, "not found");
  }
  if (input.version && input.version->kind == VersionSpec::Kind::kPinned) {
    const Json& p = input.version->pinned;
    return keep([&](const VersionRecord& v) { return MatchesPin(p, v.version); },
                p.dump() + " has not been checked yet");
  }
  if (const auto* res = config.FindResource(input.resource); res && res->version.is_object()) {
    const Json& p = res->version;
    return keep([&](const VersionRecord& v) { return MatchesPin(p, v.version); },
                p.dump() + " has not been checked yet");
  }
  return all;
}

// `version: every`: versions this job has not used yet, oldest first, then the rest newest first.
void OrderForEvery(const PlannerSnapshot& snap, const std::string& job, const JobInput& input,
                   std::vector<const VersionRecord*>& versions) {
  const std::set<int64_t>* used = nullptr;
  if (auto j = snap.used_inputs.find(job); j != snap.used_inputs.end()) {
    if (auto i = j->second.find(input.name); i != j->second.end()) used = &i->second;
  }
  auto is_used = [&](const VersionRecord* v) { return used && used->count(v->id); };
  std::stable_partition(versions.begin(), versions.end(),
                        [&](const VersionRecord* v) { return !is_used(v); });
  auto first_used = std::find_if(versions.begin(), versions.end(), is_used);
  std::reverse(versions.begin(), first_used);  // unused: oldest first
}

Candidates CandidatesFor(const pipelines::PipelineConfig& config, const Job& job,
                         const JobInput& input, const PlannerSnapshot& snap) {
  Candidates c;
  auto it = snap.versions.find(input.resource);
  if (it == snap.versions.end() || it->second.empty()) {
    c.empty_reason = "no versions of `" + input.resource + "` yet";
    return c;
  }
  auto versions = ApplyPins(config, input, snap, NewestFirst(it->second), &c.empty_reason);
  for (const auto& upstream : input.passed) {
    std::vector<const VersionRecord*> passed;
    for (auto* v : versions) {
      if (PassedJob(snap, upstream, input.resource, v->id)) passed.push_back(v);
    }
    if (passed.empty() && !versions.empty()) {
      c.empty_reason = "no version of `" + input.resource + "` has passed `" + upstream + "`";
    }
    versions = std::move(passed);
  }
  if (input.version && input.version->kind == VersionSpec::Kind::kEvery) {
    OrderForEvery(snap, job.name, input, versions);
  }
  c.ordered = std::move(versions);
  return c;
}

// Backtracking search for versions such that, for every upstream job J, one successful build of
// J carries all the chosen versions of the inputs that name J in `passed:`.
class ConsistencySearch {
 public:
  ConsistencySearch(const std::vector<JobInput>& inputs, const std::vector<Candidates>& cands,
                    const PlannerSnapshot& snap)
      : inputs_(inputs), cands_(cands), snap_(snap), chosen_(inputs.size(), nullptr) {}

  bool Run() { return Assign(0, {}); }
  const std::vector<const VersionRecord*>& chosen() const { return chosen_; }
  bool exhausted() const { return steps_ >= kSearchBudget; }

 private:
  using BuildSets = std::map<std::string, std::vector<const SucceededBuild*>>;

  bool Assign(size_t i, const BuildSets& compatible) {
    if (i == inputs_.size()) return true;
    for (const VersionRecord* v : cands_[i].ordered) {
      if (++steps_ >= kSearchBudget) return false;
      BuildSets next = compatible;
      if (!Narrow(inputs_[i], v->id, next)) continue;
      chosen_[i] = v;
      if (Assign(i + 1, next)) return true;
    }
    return false;
  }

  // Restricts each upstream job's compatible builds to those carrying `version_id`.
  bool Narrow(const JobInput& input, int64_t version_id, BuildSets& sets) {
    for (const auto& job : input.passed) {
      auto [it, inserted] = sets.try_emplace(job);
      if (inserted) {
        if (auto b = snap_.succeeded_builds.find(job); b != snap_.succeeded_builds.end()) {
          for (const auto& build : b->second) it->second.push_back(&build);
        }
      }
      std::vector<const SucceededBuild*> kept;
      for (const auto* build : it->second) {
        auto r = build->versions_by_resource.find(input.resource);
        if (r != build->versions_by_resource.end() && r->second.count(version_id)) {
          kept.push_back(build);
        }
      }
      if (kept.empty()) return false;
      it->second = std::move(kept);
    }
    return true;
  }

  const std::vector<JobInput>& inputs_;
  const std::vector<Candidates>& cands_;
  const PlannerSnapshot& snap_;
  std::vector<const VersionRecord*> chosen_;
  int64_t steps_ = 0;
};

bool FirstOccurrence(const PlannerSnapshot& snap, const std::string& job, const std::string& input,
                     int64_t version_id) {
  auto j = snap.used_inputs.find(job);
  if (j == snap.used_inputs.end()) return true;
  auto i = j->second.find(input);
  return i == j->second.end() || !i->second.count(version_id);
}

std::string Quoted(const std::vector<JobInput>& inputs) {
  std::string out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].passed.empty()) continue;
    if (!out.empty()) out += ", ";
    out += "`" + inputs[i].resource + "`";
  }
  return out;
}

}  // namespace

std::vector<JobInput> JobInputs(const pipelines::Job& job) {
  std::vector<JobInput> out;
  std::set<std::string> seen;
  pipelines::ForEachStep(job, [&](const Step& s) {
    const auto* get = std::get_if<GetStep>(&s.body);
    if (!get || !seen.insert(get->name).second) return;
    out.push_back({get->name, get->resource.empty() ? get->name : get->resource, get->passed,
                   get->trigger, get->version});
  });
  return out;
}

InputPlan ResolveInputs(const pipelines::PipelineConfig& config, const pipelines::Job& job,
                        const PlannerSnapshot& snapshot) {
  InputPlan plan;
  std::vector<JobInput> inputs = JobInputs(job);
  std::vector<Candidates> cands;
  for (const auto& input : inputs) {
    cands.push_back(CandidatesFor(config, job, input, snapshot));
    if (cands.back().ordered.empty()) {
      plan.waiting_reason = cands.back().empty_reason;
      return plan;
    }
  }
  ConsistencySearch search(inputs, cands, snapshot);
  if (!search.Run()) {
    plan.waiting_reason = search.exhausted()
                              ? "gave up searching for a consistent set of input versions"
                              : "no consistent set of versions of " + Quoted(inputs) +
                                    " has passed the upstream jobs together";
    return plan;
  }
  plan.resolved = true;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const VersionRecord* v = search.chosen()[i];
    ResolvedInput r{inputs[i].name,
                    inputs[i].resource,
                    v->id,
                    v->version,
                    inputs[i].trigger,
                    FirstOccurrence(snapshot, job.name, inputs[i].name, v->id)};
    if (r.trigger && r.first_occurrence) plan.should_trigger = true;
    plan.inputs.push_back(std::move(r));
  }
  return plan;
}

}  // namespace baton::runner
