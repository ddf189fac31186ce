// FakeClock: a Clock whose time only moves when a test moves it. Thread-safe.
#pragma once

#include <mutex>
#include <string>

#include "baton/common/clock.h"
#include "baton/common/duration.h"

namespace baton::testing {

class FakeClock final : public Clock {
 public:
  // Starts at 2024-01-01T00:00:00Z (wall) and an arbitrary steady origin.
  FakeClock();
  explicit FakeClock(SystemTime start);

  SystemTime Now() const override;
  SteadyTime SteadyNow() const override;

  // Moves both clocks forward by `d` (d >= 0).
  void Advance(Duration d);
  // Sets the wall clock; the steady clock moves forward by the difference if positive.
  void SetNow(SystemTime t);
  // Sets the wall clock from an RFC 3339 UTC string ("2024-05-01T12:00:00Z"); aborts on a bad
  // string (test helper).
  void SetNow(const std::string& rfc3339_utc);

 private:
  mutable std::mutex mu_;
  SystemTime now_;     // GUARDED_BY(mu_)
  SteadyTime steady_;  // GUARDED_BY(mu_)
};

// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" into a SystemTime (test helper; aborts when malformed).
SystemTime ParseUtc(const std::string& rfc3339_utc);

}  // namespace baton::testing
