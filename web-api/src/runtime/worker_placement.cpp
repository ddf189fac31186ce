// Worker placement (worker_placement.h): Concourse's tag and team rules, then locality, then
// load.
#include "baton/webapi/worker_placement.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "baton/common/strings.h"

namespace baton::webapi {
namespace {

bool HasTags(const PlacementCandidate& worker, const std::vector<std::string>& tags) {
  // An untagged step runs only on untagged workers; a tagged one on workers with all its tags.
  if (tags.empty()) return worker.tags.empty();
  return std::all_of(tags.begin(), tags.end(), [&](const std::string& tag) {
    return std::find(worker.tags.begin(), worker.tags.end(), tag) != worker.tags.end();
  });
}

bool TakesTeam(const PlacementCandidate& worker, const std::string& team) {
  return worker.team.empty() || worker.team == team;
}

bool HasRoom(const PlacementCandidate& worker) {
  return !worker.landing && worker.running < std::max(1, worker.capacity);
}

// "untagged workers" or "workers with tags [gpu, linux]".
std::string Kind(const workers::WorkerSpec& spec, bool plural) {
  if (spec.tags.empty()) return plural ? "untagged worker(s)" : "untagged worker";
  return fmt::format("{} with tags [{}]", plural ? "worker(s)" : "worker", Join(spec.tags, ", "));
}

}  // namespace

bool Fits(const PlacementCandidate& worker, const workers::WorkerSpec& spec) {
  return HasTags(worker, spec.tags) && TakesTeam(worker, spec.team);
}

std::optional<size_t> ChooseWorker(const std::vector<PlacementCandidate>& workers,
                                   const workers::WorkerSpec& spec) {
  std::optional<size_t> best;
  // Smaller is better: other team's (never), general before the team's own is worse, fewer
  // volumes held is worse, more running is worse, given work more recently is worse.
  auto rank = [&](const PlacementCandidate& w) {
    bool own_team = !w.team.empty();
    return std::make_tuple(!own_team, -w.volumes_held, w.running, w.last_given);
  };
  for (size_t i = 0; i < workers.size(); ++i) {
    const PlacementCandidate& w = workers[i];
    if (!Fits(w, spec) || !HasRoom(w)) continue;
    if (!best || rank(w) < rank(workers[*best])) best = i;
  }
  return best;
}

std::string WhyNoWorker(const std::vector<PlacementCandidate>& workers,
                        const workers::WorkerSpec& spec) {
  if (workers.empty()) {
    return "no worker has registered with this web node; start one with `baton worker --web "
           "URL --key FILE ...` (docs/workers.md)";
  }
  int tagged = 0, fitting = 0, landing = 0;
  for (const auto& w : workers) {
    if (!HasTags(w, spec.tags)) continue;
    ++tagged;
    if (!TakesTeam(w, spec.team)) continue;
    ++fitting;
    landing += w.landing ? 1 : 0;
  }
  if (tagged == 0 && spec.tags.empty()) {
    return "no untagged worker (untagged steps run only on workers started without --tag)";
  }
  if (tagged == 0) {
    std::string flags;
    for (const auto& tag : spec.tags) flags += " --tag " + tag;
    return fmt::format(
        "no worker with tags [{}]; start one with `baton worker{} ...`, or change the step's "
        "(or its resource's) `tags:`",
        Join(spec.tags, ", "), flags);
  }
  if (fitting == 0 && spec.team.empty()) {
    return fmt::format(
        "every {} belongs to a team (--team), and this step names none; start one without --team",
        Kind(spec, false));
  }
  if (fitting == 0) {
    return fmt::format(
        "every {} belongs to another team (--team), and this step is team {}'s; start one "
        "with --team {} or without --team",
        Kind(spec, false), spec.team, spec.team);
  }
  if (landing == fitting) {
    return fmt::format("every {} is landing (`baton land-worker`); start another worker",
                       Kind(spec, false));
  }
  return fmt::format("all {} {} are running as many steps as their capacity", fitting,
                     Kind(spec, true));
}

}  // namespace baton::webapi
