// Connection::RunOffloaded: heavy handler work (parsing and validating a pipeline) runs on the
// server's work pool while the connection's coroutine waits on a timer, so the io threads keep
// serving every other request, and the client gets a 503 when the deadline passes first.
#include <mutex>
#include <optional>

#include "baton/common/logging.h"
#include "connection.h"
#include "responder.h"

namespace baton::webapi {

namespace {

// The result of one offloaded work, handed from a work thread to the connection's strand.
// Thread-safe.
class OffloadResult : public std::enable_shared_from_this<OffloadResult> {
 public:
  explicit OffloadResult(const asio::any_io_executor& strand) : timer_(strand) {}

  // On the work thread: stores the response and wakes the waiting coroutine.
  void Deliver(Response response) {
    {
      std::lock_guard lock(mutex_);
      response_ = std::move(response);
    }
    asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
  }

  std::optional<Response> Take() {
    std::lock_guard lock(mutex_);
    std::optional<Response> out = std::move(response_);
    response_.reset();
    return out;
  }

  // On the strand: waits until Deliver or `deadline`.
  asio::awaitable<void> WaitUntil(std::chrono::steady_clock::time_point deadline) {
    if (Ready()) co_return;
    timer_.expires_at(deadline);
    beast::error_code ec;
    co_await timer_.async_wait(Redirect(ec));
  }

 private:
  bool Ready() {
    std::lock_guard lock(mutex_);
    return response_.has_value();
  }

  std::mutex mutex_;
  std::optional<Response> response_;  // GUARDED_BY(mutex_)
  asio::steady_timer timer_;
};

Response RunGuarded(OffloadedWork& work, WorkClaim& claim) {
  try {
    return work(claim);
  } catch (const std::exception& e) {
    ModuleLogger("webapi")->error("offloaded work threw: {}", e.what());
    return JsonError(500, "internal error", e.what());
  } catch (...) {
    ModuleLogger("webapi")->error("offloaded work threw");
    return JsonError(500, "internal error", "the handler failed");
  }
}

}  // namespace

asio::awaitable<Response> Connection::RunOffloaded(std::shared_ptr<OffloadedWork> work) {
  auto result = std::make_shared<OffloadResult>(stream_.get_executor());
  auto claim = std::make_shared<WorkClaim>();
  auto deadline = std::chrono::steady_clock::now() + core_->options.work_deadline;
  asio::post(core_->work_pool,
             [result, claim, work] { result->Deliver(RunGuarded(*work, *claim)); });
  co_await result->WaitUntil(deadline);
  if (auto response = result->Take()) co_return std::move(*response);
  if (claim->Abandon()) {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(core_->options.work_deadline);
    co_return JsonError(503, "service unavailable",
                        "the server could not finish this request within " +
                            std::to_string(seconds.count()) +
                            " s (it is busy or the input is very large); nothing was changed, "
                            "try again later or send a smaller request");
  }
  // The work committed a side effect before the deadline: its answer is the truth, wait for it.
  while (true) {
    co_await result->WaitUntil(std::chrono::steady_clock::time_point::max());
    if (auto response = result->Take()) co_return std::move(*response);
  }
}

asio::awaitable<Response> Connection::RunAwaited(std::shared_ptr<AwaitedWork> work) {
  auto result = std::make_shared<OffloadResult>(stream_.get_executor());
  try {
    (*work)(MakeResponder([result](Response r) { result->Deliver(std::move(r)); }));
  } catch (const std::exception& e) {
    ModuleLogger("webapi")->error("awaited work threw: {}", e.what());
    co_return JsonError(500, "internal error", e.what());
  }
  // No deadline of its own: the scheduler answers every command, and a Responder dropped
  // unanswered (the scheduler stopped) answers 503.
  while (true) {
    co_await result->WaitUntil(std::chrono::steady_clock::time_point::max());
    if (auto response = result->Take()) co_return std::move(*response);
  }
}

}  // namespace baton::webapi
