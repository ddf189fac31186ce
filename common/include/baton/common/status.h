// Status and Result<T>: how errors cross module boundaries in Baton.
//
// A Status is either OK or carries a code, a message written for the user, and optional context
// (where it happened: "pipeline.yml:12:5", "job compile, step build"). Result<T> holds either a
// value or a non-OK Status. Both are cheap to move and safe to copy; neither is thread-safe to
// mutate concurrently (they are values).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace baton {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the user gave us something wrong (bad YAML, bad flag)
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // a named thing exists already
  kFailedPrecondition,  // the system is not in a state to do this
  kPermissionDenied,    // auth failed or forbidden
  kUnavailable,         // a dependency (worker, network peer) cannot be reached
  kDeadlineExceeded,    // a timeout
  kCancelled,           // aborted by the user
  kIoError,             // filesystem / database failure
  kInternal,            // a bug in Baton
};

const char* ToString(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message, std::string context = {})
      : code_(code), message_(std::move(message)), context_(std::move(context)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& context() const { return context_; }

  // Returns a copy with `outer` prepended to the context ("job build: step compile").
  Status WithContext(const std::string& outer) const;

  // "context: message" (or just the message), for showing to a user.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string context_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Result<T>: a value or an error. Access the value only when ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(data_).ok() && "Result needs a value or an error");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(data_);
  }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace baton

// Early-return helpers. BATON_RETURN_IF_ERROR(expr) returns the Status if it is not OK.
#define BATON_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::baton::Status baton_status_ = (expr);        \
    if (!baton_status_.ok()) return baton_status_; \
  } while (0)

#define BATON_CONCAT_INNER(a, b) a##b
#define BATON_CONCAT(a, b) BATON_CONCAT_INNER(a, b)
// BATON_ASSIGN_OR_RETURN(auto x, ResultExpr());
#define BATON_ASSIGN_OR_RETURN(lhs, expr)                  \
  auto BATON_CONCAT(baton_result_, __LINE__) = (expr);     \
  if (!BATON_CONCAT(baton_result_, __LINE__).ok())         \
    return BATON_CONCAT(baton_result_, __LINE__).status(); \
  lhs = std::move(BATON_CONCAT(baton_result_, __LINE__)).value()
