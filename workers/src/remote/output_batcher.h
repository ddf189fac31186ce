// OutputBatcher: a step's OutputSink on a `baton worker`, sending its lines to the web node in
// batches (POST /worker/v2/steps/:step/output) from a thread of its own. At most one batch is in
// flight and at most kMaxBufferedBytes wait behind it: when the web node is slower than the task,
// OnLines blocks, so the task's pipe fills and the task waits (back-pressure, never unbounded
// memory on either side). If the web node refuses a batch for good (the step is no longer this
// worker's), later lines are dropped.
//
// Thread-safety: OnLine/OnLines from any thread; Close from one thread, once.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "baton/common/json.h"
#include "baton/common/status.h"
#include "baton/workers/output.h"
#include "baton/workers/step_wire.h"

namespace baton::workers {

class OutputBatcher final : public OutputSink {
 public:
  static constexpr size_t kMaxBufferedBytes = 1u << 20;
  static constexpr size_t kMaxBatchBytes = 256u << 10;

  // `send` posts one batch (a JSON array of lines) and returns the outcome; a non-OK status
  // with code kNotFound or kPermissionDenied stops the sending for good.
  explicit OutputBatcher(std::function<Status(const Json& lines)> send);
  ~OutputBatcher() override;

  void OnLine(SystemTime time, OutputStream stream, std::string_view line) override;
  void OnLines(std::span<const OutputLine> lines) override;
  // Sends what is buffered, then stops the thread.
  void Close();

 private:
  void SendLoop();

  std::function<Status(const Json&)> send_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<wire::OwnedLine> lines_;  // GUARDED_BY(mu_)
  size_t bytes_ = 0;                   // GUARDED_BY(mu_)
  bool closing_ = false;               // GUARDED_BY(mu_)
  bool dead_ = false;                  // GUARDED_BY(mu_)
  bool sending_ = false;               // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace baton::workers
