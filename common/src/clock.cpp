#include "baton/common/clock.h"

#include <ctime>

namespace baton {

Clock& RealClock() {
  static SystemClock clock;
  return clock;
}

int64_t ToUnixMillis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

SystemTime FromUnixMillis(int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }

std::string FormatRfc3339(SystemTime t) {
  int64_t ms = ToUnixMillis(t);
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

}  // namespace baton
