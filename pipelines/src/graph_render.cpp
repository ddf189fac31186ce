// JobGraph rendering: Graphviz dot and a layered text view for terminals.
#include <algorithm>
#include <set>
#include <tuple>

#include "baton/pipelines/graph.h"
#include "graph_index.h"

namespace baton::pipelines {

namespace {

// A double-quoted Graphviz ID.
std::string DotId(std::string_view prefix, std::string_view name) {
  std::string out = "\"";
  out += prefix;
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string DotLabel(std::string_view name) { return DotId("", name); }

// Where resources enter and leave jobs outside `passed:` edges.
struct ResourceLinks {
  std::vector<std::string> resources;                            // first use order
  std::set<std::tuple<std::string, std::string, bool>> entries;  // resource, job, trigger
  std::set<std::pair<std::string, std::string>> puts;            // job, resource
  std::vector<std::tuple<std::string, std::string, bool>> entry_order;
  std::vector<std::pair<std::string, std::string>> put_order;

  void Use(const std::string& resource) {
    if (std::find(resources.begin(), resources.end(), resource) == resources.end()) {
      resources.push_back(resource);
    }
  }
};

ResourceLinks CollectResourceLinks(const PipelineConfig& config) {
  ResourceLinks links;
  for (const auto& job : config.jobs) {
    ForEachStep(job, [&](const Step& step) {
      if (const auto* get = std::get_if<GetStep>(&step.body); get && get->passed.empty()) {
        std::string resource = get->resource.empty() ? get->name : get->resource;
        links.Use(resource);
        auto entry = std::make_tuple(resource, job.name, get->trigger);
        if (links.entries.insert(entry).second) links.entry_order.push_back(entry);
      } else if (const auto* put = std::get_if<PutStep>(&step.body)) {
        std::string resource = put->resource.empty() ? put->name : put->resource;
        links.Use(resource);
        auto link = std::make_pair(job.name, resource);
        if (links.puts.insert(link).second) links.put_order.push_back(link);
      }
    });
  }
  return links;
}

std::string DotPassedEdges(const std::vector<JobEdge>& edges) {
  std::string out;
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto& e : edges) {
    if (!seen.insert({e.from, e.to, e.resource}).second) continue;
    out += "  " + DotId("job:", e.from) + " -> " + DotId("job:", e.to) +
           " [label=" + DotLabel(e.resource) + ", style=" + (e.trigger ? "solid" : "dashed") +
           "];\n";
  }
  return out;
}

// Longest-path layer of each job from a root; -1 for jobs on or behind a cycle.
std::vector<int> Layers(const std::vector<std::string>& jobs, const std::vector<JobEdge>& edges,
                        const std::optional<std::vector<std::string>>& order) {
  JobIndex index(jobs);
  std::vector<int> layer(jobs.size(), -1);
  if (!order) return layer;
  auto succ = index.Successors(edges);
  for (const auto& name : *order) {
    size_t node = index.Of(name);
    if (layer[node] < 0) layer[node] = 0;
    for (size_t next : succ[node]) layer[next] = std::max(layer[next], layer[node] + 1);
  }
  return layer;
}

std::string TextLine(const std::string& job, size_t width, const std::vector<std::string>& up) {
  std::string line = "  " + job;
  if (!up.empty()) {
    line += std::string(width - job.size() + 2, ' ') + "<- ";
    for (size_t i = 0; i < up.size(); ++i) line += (i ? ", " : "") + up[i];
  }
  return line + "\n";
}

}  // namespace

std::string JobGraph::RenderDot(const PipelineConfig& config) const {
  ResourceLinks links = CollectResourceLinks(config);
  std::string out =
      "digraph pipeline {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n  edge "
      "[fontname=\"Helvetica\"];\n";
  for (const auto& job : jobs_) {
    out += "  " + DotId("job:", job) + " [label=" + DotLabel(job) + ", shape=box];\n";
  }
  for (const auto& r : links.resources) {
    out += "  " + DotId("resource:", r) + " [label=" + DotLabel(r) + ", shape=ellipse];\n";
  }
  for (const auto& [resource, job, trigger] : links.entry_order) {
    out += "  " + DotId("resource:", resource) + " -> " + DotId("job:", job) +
           " [style=" + (trigger ? "solid" : "dashed") + "];\n";
  }
  out += DotPassedEdges(edges_);
  for (const auto& [job, resource] : links.put_order) {
    out += "  " + DotId("job:", job) + " -> " + DotId("resource:", resource) + ";\n";
  }
  return out + "}\n";
}

std::string JobGraph::RenderText() const {
  if (jobs_.empty()) return "(no jobs)\n";
  std::vector<int> layer = Layers(jobs_, edges_, TopologicalOrder());
  int deepest = *std::max_element(layer.begin(), layer.end());
  size_t width = 0;
  for (const auto& j : jobs_) width = std::max(width, j.size());
  JobIndex index(jobs_);
  std::vector<std::set<size_t>> upstream(jobs_.size());
  for (const auto& e : edges_) upstream[index.Of(e.to)].insert(index.Of(e.from));
  std::string out;
  for (int l = -1; l <= deepest; ++l) {
    std::string body;
    for (size_t i = 0; i < jobs_.size(); ++i) {
      if (layer[i] != l) continue;
      std::vector<std::string> names;
      for (size_t u : upstream[i]) names.push_back(jobs_[u]);
      body += TextLine(jobs_[i], width, names);
    }
    if (body.empty()) continue;
    out += (l < 0 ? std::string("cycle (no order possible)") : "stage " + std::to_string(l + 1));
    out += "\n" + body;
  }
  return out;
}

}  // namespace baton::pipelines
