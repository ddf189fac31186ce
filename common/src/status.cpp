#include "baton/common/status.h"

namespace baton {

const char* ToString(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid argument";
    case StatusCode::kNotFound:
      return "not found";
    case StatusCode::kAlreadyExists:
      return "already exists";
    case StatusCode::kFailedPrecondition:
      return "failed precondition";
    case StatusCode::kPermissionDenied:
      return "permission denied";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kDeadlineExceeded:
      return "deadline exceeded";
    case StatusCode::kCancelled:
      return "cancelled";
    case StatusCode::kIoError:
      return "i/o error";
    case StatusCode::kInternal:
      return "internal error";
  }
  return "unknown";
}

Status Status::WithContext(const std::string& outer) const {
  if (ok()) return *this;
  std::string ctx = context_.empty() ? outer : outer + ": " + context_;
  return Status(code_, message_, std::move(ctx));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  if (context_.empty()) return message_;
  return context_ + ": " + message_;
}

}  // namespace baton
