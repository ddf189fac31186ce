// JobGraph: edges from `passed:` constraints, ordering and cycle search. Rendering lives in
// graph_render.cpp.
#include "baton/pipelines/graph.h"

#include <algorithm>
#include <queue>
#include <set>
#include <string_view>

#include "graph_index.h"

namespace baton::pipelines {

namespace {

void AddEdgesOfJob(const Job& job, const std::set<std::string>& known,
                   std::vector<JobEdge>& edges) {
  ForEachStep(job, [&](const Step& step) {
    const auto* get = std::get_if<GetStep>(&step.body);
    if (get == nullptr) return;
    const std::string& resource = get->resource.empty() ? get->name : get->resource;
    for (size_t i = 0; i < get->passed.size(); ++i) {
      if (known.count(get->passed[i]) == 0) continue;
      JobEdge edge{get->passed[i], job.name, resource, get->trigger, {}};
      if (i < get->passed_marks.size()) edge.mark = get->passed_marks[i];
      edges.push_back(std::move(edge));
    }
  });
}

// Distinct neighbours of `job` on one side of the edges, in file order. Without a JobIndex:
// the scheduler asks for a job's neighbours at every build of `baton run` (W3: 200 jobs, no
// edges), where indexing every job's name each time was ~9 % of its thread's time.
std::vector<std::string> Neighbours(const std::vector<std::string>& jobs,
                                    const std::vector<JobEdge>& edges, const std::string& job,
                                    bool upstream) {
  std::set<std::string_view> found;
  for (const auto& e : edges) {
    const std::string& self = upstream ? e.to : e.from;
    const std::string& other = upstream ? e.from : e.to;
    if (self == job) found.insert(other);
  }
  std::vector<std::string> out;
  if (found.empty()) return out;
  for (const std::string& name : jobs) {  // file order
    if (found.count(name)) out.push_back(name);
  }
  return out;
}

enum class Mark { kUnvisited, kOnPath, kDone };

// Iterative depth-first search from `root` (pipelines can be thousands of jobs deep). On reaching
// a node that is on the current path, returns that cycle as a closed path of indices.
std::vector<size_t> FindCycleFrom(size_t root, const std::vector<std::vector<size_t>>& succ,
                                  std::vector<Mark>& marks) {
  std::vector<std::pair<size_t, size_t>> stack{{root, 0}};  // node, next successor to try
  marks[root] = Mark::kOnPath;
  while (!stack.empty()) {
    auto& [node, next_child] = stack.back();
    if (next_child == succ[node].size()) {
      marks[node] = Mark::kDone;
      stack.pop_back();
      continue;
    }
    size_t next = succ[node][next_child++];
    if (marks[next] == Mark::kOnPath) {
      std::vector<size_t> cycle;
      auto start = std::find_if(stack.begin(), stack.end(),
                                [next](const auto& frame) { return frame.first == next; });
      for (auto it = start; it != stack.end(); ++it) cycle.push_back(it->first);
      cycle.push_back(next);
      return cycle;
    }
    if (marks[next] == Mark::kUnvisited) {
      marks[next] = Mark::kOnPath;
      stack.emplace_back(next, 0);
    }
  }
  return {};
}

}  // namespace

JobGraph JobGraph::Build(const PipelineConfig& config) {
  JobGraph graph;
  std::set<std::string> known;
  for (const auto& job : config.jobs) {
    if (known.insert(job.name).second) graph.jobs_.push_back(job.name);
  }
  for (const auto& job : config.jobs) AddEdgesOfJob(job, known, graph.edges_);
  return graph;
}

std::vector<std::string> JobGraph::Upstream(const std::string& job) const {
  return Neighbours(jobs_, edges_, job, /*upstream=*/true);
}

std::vector<std::string> JobGraph::Downstream(const std::string& job) const {
  return Neighbours(jobs_, edges_, job, /*upstream=*/false);
}

std::optional<std::vector<std::string>> JobGraph::TopologicalOrder() const {
  JobIndex index(jobs_);
  auto succ = index.Successors(edges_);
  std::vector<size_t> in_degree(jobs_.size(), 0);
  for (const auto& targets : succ) {
    for (size_t t : targets) ++in_degree[t];
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (in_degree[i] == 0) ready.push(i);
  }
  std::vector<std::string> order;
  while (!ready.empty()) {
    size_t node = ready.top();
    ready.pop();
    order.push_back(jobs_[node]);
    for (size_t next : succ[node]) {
      if (--in_degree[next] == 0) ready.push(next);
    }
  }
  if (order.size() != jobs_.size()) return std::nullopt;
  return order;
}

std::vector<std::string> JobGraph::FindCycle() const {
  JobIndex index(jobs_);
  auto succ = index.Successors(edges_);
  std::vector<Mark> marks(jobs_.size(), Mark::kUnvisited);
  std::vector<size_t> cycle;
  for (size_t i = 0; i < jobs_.size() && cycle.empty(); ++i) {
    if (marks[i] == Mark::kUnvisited) cycle = FindCycleFrom(i, succ, marks);
  }
  std::vector<std::string> out;
  for (size_t i : cycle) out.push_back(jobs_[i]);
  return out;
}

}  // namespace baton::pipelines
