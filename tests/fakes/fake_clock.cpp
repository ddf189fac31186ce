#include "fakes/fake_clock.h"

#include <cstdio>
#include <cstdlib>

namespace baton::testing {

FakeClock::FakeClock() : FakeClock(ParseUtc("2024-01-01T00:00:00Z")) {}

FakeClock::FakeClock(SystemTime start) : now_(start), steady_(std::chrono::hours(1000)) {}

SystemTime FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

SteadyTime FakeClock::SteadyNow() const {
  std::lock_guard<std::mutex> lock(mu_);
  return steady_;
}

void FakeClock::Advance(Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += std::chrono::duration_cast<SystemTime::duration>(d);
  steady_ += std::chrono::duration_cast<SteadyTime::duration>(d);
}

void FakeClock::SetNow(SystemTime t) {
  std::lock_guard<std::mutex> lock(mu_);
  if (t > now_) steady_ += std::chrono::duration_cast<SteadyTime::duration>(t - now_);
  now_ = t;
}

void FakeClock::SetNow(const std::string& rfc3339_utc) { SetNow(ParseUtc(rfc3339_utc)); }

SystemTime ParseUtc(const std::string& s) {
  std::optional<SystemTime> t = ParseRfc3339(s);
  if (!t || s.back() != 'Z') {
    std::fprintf(stderr, "ParseUtc: malformed time %s\n", s.c_str());
    std::abort();
  }
  return *t;
}

}  // namespace baton::testing
