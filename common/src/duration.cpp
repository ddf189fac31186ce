#include "baton/common/duration.h"

#include <cmath>
#include <cstdio>

namespace baton {
namespace {

// Returns the number of nanoseconds per unit, or 0 if the unit is unknown.
double UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m") return 60e9;
  if (unit == "h") return 3600e9;
  return 0;
}

bool IsDigitOrDot(char c) { return (c >= '0' && c <= '9') || c == '.'; }

Status Bad(std::string_view text, std::string_view why) {
  return InvalidArgument("invalid duration \"" + std::string(text) + "\": " + std::string(why) +
                         " (expected e.g. \"30s\", \"5m\", \"1h30m\")");
}

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  std::string_view s = text;
  if (s.empty()) return Bad(text, "empty");
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration(0);
  if (s.empty()) return Bad(text, "no number");
  double total = 0;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && IsDigitOrDot(s[n])) ++n;
    if (n == 0) return Bad(text, "expected a number");
    std::string number(s.substr(0, n));
    if (number == ".") return Bad(text, "expected a number");
    s.remove_prefix(n);
    size_t u = 0;
    while (u < s.size() && !IsDigitOrDot(s[u])) ++u;
    if (u == 0) return Bad(text, "missing unit");
    double per = UnitNanos(s.substr(0, u));
    if (per == 0) return Bad(text, "unknown unit \"" + std::string(s.substr(0, u)) + "\"");
    s.remove_prefix(u);
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end == nullptr || *end != '\0') return Bad(text, "malformed number");
    total += value * per;
  }
  if (total > 9.2e18) return Bad(text, "too large");
  auto ns = static_cast<int64_t>(std::llround(total));
  return Duration(negative ? -ns : ns);
}

std::string FormatDuration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-ns) : static_cast<uint64_t>(ns);
  char buf[64];
  if (u < 1000) {
    std::snprintf(buf, sizeof buf, "%lluns", static_cast<unsigned long long>(u));
  } else if (u < 1000000) {
    std::snprintf(buf, sizeof buf, "%gus", u / 1e3);
  } else if (u < 1000000000) {
    std::snprintf(buf, sizeof buf, "%gms", u / 1e6);
  } else {
    uint64_t secs_total = u / 1000000000, frac = u % 1000000000;
    uint64_t h = secs_total / 3600, m = (secs_total / 60) % 60, s = secs_total % 60;
    std::string out;
    if (h) out += std::to_string(h) + "h";
    if (h || m) out += std::to_string(m) + "m";
    char sec[32];
    if (frac) {
      std::snprintf(sec, sizeof sec, "%gs", s + frac / 1e9);
    } else {
      std::snprintf(sec, sizeof sec, "%llus", static_cast<unsigned long long>(s));
    }
    return sign + out + sec;
  }
  return sign + buf;
}

std::string HumanDuration(Duration d) {
  double secs = std::chrono::duration<double>(d).count();
  char buf[32];
  if (secs < 1) {
    std::snprintf(buf, sizeof buf, "%.0fms", secs * 1000);
  } else if (secs < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", secs);
  } else {
    auto total = static_cast<long long>(secs);
    if (total < 3600) {
      std::snprintf(buf, sizeof buf, "%lldm%02llds", total / 60, total % 60);
    } else {
      std::snprintf(buf, sizeof buf, "%lldh%02lldm", total / 3600, (total / 60) % 60);
    }
  }
  return buf;
}

}  // namespace baton
