// JobIndex: job names <-> file-order indices, and adjacency by index, for JobGraph's algorithms.
// Private to pipelines/. Value; thread-compatible.
#pragma once

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "baton/pipelines/graph.h"

namespace baton::pipelines {

class JobIndex {
 public:
  explicit JobIndex(const std::vector<std::string>& jobs) : jobs_(jobs) {
    for (size_t i = 0; i < jobs.size(); ++i) index_.emplace(jobs[i], i);
  }

  // REQUIRES: `job` is one of the jobs.
  size_t Of(const std::string& job) const { return index_.at(job); }
  const std::string& Name(size_t i) const { return jobs_[i]; }
  size_t size() const { return jobs_.size(); }

  // Distinct successors of every job, each list in file order.
  std::vector<std::vector<size_t>> Successors(const std::vector<JobEdge>& edges) const {
    std::vector<std::set<size_t>> sets(jobs_.size());
    for (const auto& e : edges) sets[Of(e.from)].insert(Of(e.to));
    std::vector<std::vector<size_t>> out(jobs_.size());
    for (size_t i = 0; i < sets.size(); ++i) out[i].assign(sets[i].begin(), sets[i].end());
    return out;
  }

 private:
  const std::vector<std::string>& jobs_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace baton::pipelines
