// JobGraph: the DAG of a pipeline's jobs, with an edge upstream -> downstream for every
// `passed: [upstream]` constraint on a get step of the downstream job. Used by validation (cycles),
// `baton graph` (rendering) and `baton run` (topological order). Value; thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "baton/pipelines/pipeline_config.h"

namespace baton::pipelines {

struct JobEdge {
  std::string from;      // upstream job
  std::string to;        // downstream job
  std::string resource;  // the resource that flows along the edge
  bool trigger = false;  // the downstream get has trigger: true
  SourceMark mark;       // the `passed:` entry
};

class JobGraph {
 public:
  // Builds the graph. Edges naming unknown jobs are skipped (validation reports them).
  static JobGraph Build(const PipelineConfig& config);

  const std::vector<std::string>& jobs() const { return jobs_; }  // in file order
  const std::vector<JobEdge>& edges() const { return edges_; }
  std::vector<std::string> Upstream(const std::string& job) const;    // distinct, file order
  std::vector<std::string> Downstream(const std::string& job) const;  // distinct, file order

  // Jobs in an order where every upstream job precedes its downstream jobs; ties keep file
  // order. nullopt if the graph has a cycle.
  std::optional<std::vector<std::string>> TopologicalOrder() const;

  // One cycle as a closed path of job names ("a", "b", "a"), or empty if there is none.
  std::vector<std::string> FindCycle() const;

  // Graphviz dot: jobs as boxes, resources as ellipses, passed edges solid (dashed if no
  // trigger), resource -> first job edges.
  std::string RenderDot(const PipelineConfig& config) const;
  // A terminal rendering: jobs by layer (longest path from a root), with their upstream jobs.
  std::string RenderText() const;

 private:
  std::vector<std::string> jobs_;
  std::vector<JobEdge> edges_;
};

}  // namespace baton::pipelines
