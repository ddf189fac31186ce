// Clock: the only way Baton code reads the time (a seam, so tests can use a FakeClock).
// Implementations must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

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

}  // namespace baton
