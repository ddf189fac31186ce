// CountedWorker: a Worker as the scheduler uses it, counting the steps it runs for the workers
// list (GET /api/v1/workers, `baton workers`).
//
// Thread-safety: as Worker; the counters are atomic (steps finish on worker threads).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "baton/workers/worker.h"

namespace baton::webapi {

class CountedWorker final : public workers::Worker {
 public:
  explicit CountedWorker(workers::Worker& inner) : inner_(inner) {}
  std::string name() const override { return inner_.name(); }
  workers::IsolationLevel isolation() const override { return inner_.isolation(); }

  std::unique_ptr<workers::StepHandle> RunTask(
      const workers::TaskRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::TaskResult)> done) override;
  std::unique_ptr<workers::StepHandle> RunResource(
      const workers::ResourceRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::ResourceResult)> done) override;

  int active_tasks() const { return counts_->tasks; }
  int active_containers() const { return counts_->containers; }

 private:
  struct Counts {  // shared with callbacks that may outlive this object
    std::atomic<int> tasks{0};
    std::atomic<int> containers{0};
  };
  workers::Worker& inner_;
  std::shared_ptr<Counts> counts_ = std::make_shared<Counts>();
};

}  // namespace baton::webapi
