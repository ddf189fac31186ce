#include "runtime/counted_worker.h"

namespace baton::webapi {

std::unique_ptr<workers::StepHandle> CountedWorker::RunTask(
    const workers::TaskRun& run, std::shared_ptr<workers::OutputSink> output,
    std::function<void(workers::TaskResult)> done) {
  ++counts_->tasks;
  ++counts_->containers;
  return inner_.RunTask(run, std::move(output),
                        [counts = counts_, done = std::move(done)](workers::TaskResult result) {
                          --counts->tasks;
                          --counts->containers;
                          done(std::move(result));
                        });
}

std::unique_ptr<workers::StepHandle> CountedWorker::RunResource(
    const workers::ResourceRun& run, std::shared_ptr<workers::OutputSink> output,
    std::function<void(workers::ResourceResult)> done) {
  ++counts_->containers;
  return inner_.RunResource(
      run, std::move(output),
      [counts = counts_, done = std::move(done)](workers::ResourceResult result) {
        --counts->containers;
        done(std::move(result));
      });
}

}  // namespace baton::webapi
