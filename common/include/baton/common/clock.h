// Clock: the only way Baton code reads the time (a seam, so tests can use a FakeClock).
// Implementations must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace baton {

using SystemTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps users see and store.
  virtual SystemTime Now() const = 0;
  // Monotonic time, for measuring durations and deadlines.
  virtual SteadyTime SteadyNow() const = 0;
};

// The real clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  SystemTime Now() const override { return std::chrono::system_clock::now(); }
  SteadyTime SteadyNow() const override { return std::chrono::steady_clock::now(); }
};

// The process-wide real clock.
Clock& RealClock();

// Unix time in milliseconds / RFC 3339 (UTC) helpers.
int64_t ToUnixMillis(SystemTime t);
SystemTime FromUnixMillis(int64_t ms);
std::string FormatRfc3339(SystemTime t);
// "2026-12-06T15:04:05Z", with any fraction of a second (to the nanosecond) and a `Z` or
// `+hh:mm`/`-hh:mm` offset, as RFC 3339 writes it (`t`, `z` and a space for `T` too); nullopt for
// anything else, or a field out of its range.
std::optional<SystemTime> ParseRfc3339(std::string_view text);

}  // namespace baton
