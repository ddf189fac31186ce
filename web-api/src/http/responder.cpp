#include "responder.h"

#include <memory>
#include <mutex>

namespace baton::webapi {

namespace {

// Shared by every copy of one Responder.
class Once {
 public:
  explicit Once(std::function<void(Response)> deliver) : deliver_(std::move(deliver)) {}
  ~Once() {
    Deliver(JsonError(503, "service unavailable",
                      "the scheduler stopped before it answered this request; it may or may not "
                      "have been applied: read the pipeline again to see, then retry"));
  }
  void Deliver(Response response) {
    std::function<void(Response)> deliver;
    {
      std::lock_guard lock(mutex_);
      deliver = std::move(deliver_);
      deliver_ = nullptr;
    }
    if (deliver) deliver(std::move(response));
  }

 private:
  std::mutex mutex_;
  std::function<void(Response)> deliver_;  // GUARDED_BY(mutex_); empty once called
};

}  // namespace

Responder MakeResponder(std::function<void(Response)> deliver) {
  auto once = std::make_shared<Once>(std::move(deliver));
  return [once](Response response) { once->Deliver(std::move(response)); };
}

}  // namespace baton::webapi
