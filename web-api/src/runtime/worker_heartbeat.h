// WorkerHeartbeat: keeps an in-process worker's record in the store fresh — saved at Start(),
// again with its active step counts every `every`, removed by Stop() (a clean shutdown).
//
// Thread-safety: Start and Stop on the io_context's thread (or before it runs); the timer's
// beats run there too.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <string>

#include "baton/runner/store.h"
#include "runtime/counted_worker.h"

namespace baton::webapi {

class WorkerHeartbeat {
 public:
  WorkerHeartbeat(boost::asio::io_context& io, runner::Store& store, const CountedWorker& worker,
                  const std::string& version, std::chrono::milliseconds every);

  void Start() { Beat(); }
  void Stop();

 private:
  void Beat();

  boost::asio::steady_timer timer_;
  runner::Store& store_;
  const CountedWorker& worker_;
  std::chrono::milliseconds every_;
  runner::WorkerRecord record_;
  // Set by Stop: a beat whose timer fired before Stop cancelled it (its handler already queued,
  // uncancellable) must not save the record Stop removed.
  bool stopped_ = false;
};

}  // namespace baton::webapi
