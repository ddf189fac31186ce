// NoWorker: the scheduler's worker on a web node started without --local-worker until remote
// workers run steps: every step errors, saying how to give the node a worker. Completions are
// posted to `io` (never called inside RunTask/RunResource, as a real worker's are not).
//
// Thread-safety: as Worker.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <string>

#include "baton/workers/worker.h"

namespace baton::webapi {

class NoWorker final : public workers::Worker {
 public:
  explicit NoWorker(boost::asio::io_context& io) : io_(io) {}
  std::string name() const override { return "none"; }
  workers::IsolationLevel isolation() const override { return workers::IsolationLevel::kNone; }

  std::unique_ptr<workers::StepHandle> RunTask(
      const workers::TaskRun&, std::shared_ptr<workers::OutputSink>,
      std::function<void(workers::TaskResult)> done) override {
    workers::TaskResult result;
    result.error = Refusal();
    boost::asio::post(io_, [done = std::move(done), result] { done(result); });
    return std::make_unique<Handle>();
  }
  std::unique_ptr<workers::StepHandle> RunResource(
      const workers::ResourceRun&, std::shared_ptr<workers::OutputSink>,
      std::function<void(workers::ResourceResult)> done) override {
    workers::ResourceResult result;
    result.error = Refusal();
    boost::asio::post(io_, [done = std::move(done), result] { done(result); });
    return std::make_unique<Handle>();
  }

 private:
  struct Handle final : workers::StepHandle {
    void Cancel(Duration) override {}
  };
  static Status Refusal() {
    return Unavailable(
        "this web node has no worker that runs steps: start it with --local-worker (remote "
        "workers register with `baton worker` but do not run steps in this version)");
  }
  boost::asio::io_context& io_;
};

}  // namespace baton::webapi
