// The `time` resource type: emits a version `{time: RFC 3339}` on an interval and/or inside a
// daily time range, on chosen weekdays, in an IANA location. Follows concourse/time-resource
// (models/models.go, lord/time_lord.go, check_command.go, in_command.go), read for this
// implementation; `cron` and `start_after` are not supported.
//
// All instants are milliseconds since the epoch (UTC); "local" values are the same count as if
// the location's wall clock were UTC. The time comes from ctx.clock only.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>

#include "baton/common/duration.h"
#include "baton/common/strings.h"
#include "resources/builtin_types.h"
#include "resources/resource_util.h"
#include "resources/time_zone.h"

namespace baton::workers::resources {
namespace {

constexpr int64_t kMsPerDay = 86400 * 1000LL;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct TimeSchedule {
  TimeZone zone = TimeZone::Utc();
  std::optional<int64_t> interval_ms;
  std::optional<int> start_minute;  // minutes after local midnight
  std::optional<int> stop_minute;
  std::vector<int> days;  // 0 = Sunday
  bool initial_version = false;
};

// Parses "3:04 PM", "3PM", "3 PM", "15:04", "1504", optionally followed by " -0700" (then
// converted to UTC, as Go's parser does). Returns minutes after midnight.
std::optional<int> ParseTimeOfDay(std::string text) {
  int offset_minutes = 0;
  if (text.size() > 6 && (text[text.size() - 5] == '-' || text[text.size() - 5] == '+') &&
      text[text.size() - 6] == ' ') {
    int hhmm = std::atoi(text.c_str() + text.size() - 4);
    offset_minutes = (hhmm / 100) * 60 + hhmm % 100;
    if (text[text.size() - 5] == '-') offset_minutes = -offset_minutes;
    text.resize(text.size() - 6);
  }
  int h = -1, m = 0;
  char ampm[3] = {0};
  bool digits_only = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  if (digits_only) {  // "1504"
    if (text.size() != 4) return std::nullopt;
    h = std::stoi(text.substr(0, 2));
    m = std::stoi(text.substr(2));
  } else if (std::sscanf(text.c_str(), "%d:%2d %2[APMapm]", &h, &m, ampm) < 2 &&
             std::sscanf(text.c_str(), "%d %2[APMapm]", &h, ampm) != 2) {
    return std::nullopt;
  }
  std::string suffix = ampm;
  for (char& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!suffix.empty()) {
    if (suffix != "AM" && suffix != "PM") return std::nullopt;
    if (h < 1 || h > 12) return std::nullopt;
    h = (h % 12) + (suffix == "PM" ? 12 : 0);
  }
  if (h < 0 || h > 23 || m < 0 || m > 59) return std::nullopt;
  int minutes = h * 60 + m - offset_minutes;
  return ((minutes % 1440) + 1440) % 1440;
}

std::optional<int> ParseWeekday(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* kNames[] = {"sunday",   "monday", "tuesday", "wednesday",
                                 "thursday", "friday", "saturday"};
  for (int i = 0; i < 7; ++i) {
    if (name == kNames[i] || name == std::string(kNames[i], 3)) return i;
  }
  return std::nullopt;
}

Result<std::optional<int>> TimeOfDayField(const Json& source, const std::string& key) {
  BATON_ASSIGN_OR_RETURN(std::string text, StringField(source, key, "source"));
  if (text.empty()) return std::optional<int>();
  auto minutes = ParseTimeOfDay(text);
  if (!minutes) {
    return InvalidArgument("time: source." + key + " '" + text +
                           "' is not a time of day: use e.g. \"3:04 PM\", \"3PM\" or \"15:04\"");
  }
  return minutes;
}

Result<TimeSchedule> ParseSchedule(const Json& source) {
  TimeSchedule s;
  BATON_ASSIGN_OR_RETURN(std::string location, StringField(source, "location", "source"));
  if (!location.empty()) {
    auto zone = TimeZone::Load(location);
    if (!zone.ok())
      return Status(zone.status().code(), "time: source.location: " + zone.status().message());
    s.zone = std::move(zone).value();
  }
  BATON_ASSIGN_OR_RETURN(std::string interval, StringField(source, "interval", "source"));
  if (!interval.empty()) {
    auto d = ParseDuration(interval);
    if (!d.ok() || d->count() <= 0) {
      return InvalidArgument("time: source.interval '" + interval +
                             "' is not a positive duration: use e.g. \"10m\" or \"1h30m\"");
    }
    s.interval_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
  }
  BATON_ASSIGN_OR_RETURN(s.start_minute, TimeOfDayField(source, "start"));
  BATON_ASSIGN_OR_RETURN(s.stop_minute, TimeOfDayField(source, "stop"));
  if (s.start_minute.has_value() != s.stop_minute.has_value()) {
    return InvalidArgument(s.start_minute ? "time: must configure source.stop if start is set"
                                          : "time: must configure source.start if stop is set");
  }
  BATON_ASSIGN_OR_RETURN(auto days, StringListField(source, "days", "source"));
  for (const std::string& d : days) {
    auto day = ParseWeekday(d);
    if (!day)
      return InvalidArgument("time: unknown weekday '" + d + "' in source.days: use e.g. Monday");
    s.days.push_back(*day);
  }
  BATON_ASSIGN_OR_RETURN(s.initial_version, BoolField(source, "initial_version", "source"));
  return s;
}

// The schedule's rules over instants (ms). Mirrors TimeLord.
class TimeLord {
 public:
  explicit TimeLord(const TimeSchedule& s) : s_(s) {}

  int64_t ToLocal(int64_t t) const { return t + s_.zone.OffsetAt(FloorDiv(t, 1000)) * 1000LL; }
  int64_t AtLocal(int64_t day, int minute) const {
    return s_.zone.FromLocal(day * 86400 + minute * 60LL) * 1000;
  }

  bool DaysMatch(int64_t t) const {
    if (s_.days.empty()) return true;
    int64_t day = FloorDiv(ToLocal(t), kMsPerDay);
    int weekday = static_cast<int>(((day % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
    for (int d : s_.days) {
      if (d == weekday) return true;
    }
    return false;
  }

  // The latest daily range whose start is not after `ref`: [start, stop).
  std::pair<int64_t, int64_t> LatestRangeBefore(int64_t ref) const {
    int start_min = s_.start_minute.value_or(0), stop_min = s_.stop_minute.value_or(0);
    int64_t day = FloorDiv(ToLocal(ref), kMsPerDay);
    int64_t start = AtLocal(day, start_min);
    if (start > ref) start = AtLocal(--day, start_min);
    int64_t start_day = FloorDiv(ToLocal(start), kMsPerDay);
    int64_t stop = AtLocal(start_day, stop_min);
    if (stop <= start) stop = AtLocal(start_day + 1, stop_min);
    return {start, stop};
  }

  bool ShouldEmit(int64_t now, std::optional<int64_t> previous) const {
    auto [start, stop] = LatestRangeBefore(now);
    if (!DaysMatch(now)) return false;
    if (now < start || now >= stop) return false;
    if (!previous) return true;
    if (s_.interval_ms) return now - *previous >= *s_.interval_ms;
    return *previous < start;
  }

 private:
  const TimeSchedule& s_;
};

std::string FormatInZone(int64_t ms, const TimeZone& zone) {
  int offset = zone.OffsetAt(FloorDiv(ms, 1000));
  int64_t local_secs = FloorDiv(ms, 1000) + offset;
  int millis = static_cast<int>(ms - FloorDiv(ms, 1000) * 1000);
  using namespace std::chrono;
  sys_days day{days{FloorDiv(local_secs, 86400)}};
  year_month_day ymd{day};
  int64_t sod = local_secs - FloorDiv(local_secs, 86400) * 86400;
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", int(ymd.year()),
                        unsigned(ymd.month()), unsigned(ymd.day()), int(sod / 3600),
                        int(sod / 60 % 60), int(sod % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (millis) {
    std::snprintf(buf, sizeof buf, ".%03d", millis);
    out += buf;
  }
  if (offset == 0) return out + "Z";
  int a = offset < 0 ? -offset : offset;
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset < 0 ? '-' : '+', a / 3600, a / 60 % 60);
  return out + buf;
}

// Parses RFC 3339 ("2024-05-01T14:00:00.123+02:00", "...Z") into ms since the epoch.
std::optional<int64_t> ParseRfc3339(const std::string& s) {
  int y, mo, d, h, mi, sec, consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) <
      6) {
    return std::nullopt;
  }
  size_t pos = static_cast<size_t>(consumed);
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    int64_t scale = 100;
    for (++pos; pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])); ++pos) {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
    }
  }
  int offset = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
  } else if (pos >= s.size() || (s[pos] != 'Z' && s[pos] != 'z')) {
    return std::nullopt;
  }
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t days_since = sys_days{ymd}.time_since_epoch().count();
  int64_t secs = days_since * 86400 + h * 3600 + mi * 60 + sec - offset;
  return secs * 1000 + millis;
}

Result<std::optional<int64_t>> PreviousTime(const Json& from) {
  if (from.is_null()) return std::optional<int64_t>();
  std::string text = from.is_object() ? from.value("time", std::string()) : std::string();
  auto t = ParseRfc3339(text);
  if (!t) {
    return InvalidArgument("time check: version " + from.dump() +
                           " has no RFC 3339 `time`; reset the resource's versions");
  }
  return t;
}

class TimeResourceType final : public ResourceType {
 public:
  Result<std::vector<Json>> Check(const ResourceContext& ctx, const Json& source,
                                  const Json& from) override {
    BATON_ASSIGN_OR_RETURN(TimeSchedule schedule, ParseSchedule(source));
    BATON_ASSIGN_OR_RETURN(std::optional<int64_t> previous, PreviousTime(from));
    int64_t now = NowMs(ctx);
    std::vector<Json> versions;
    if (previous) {
      versions.push_back(from);
    } else if (schedule.initial_version) {
      versions.push_back(Version(now, schedule));
      return versions;
    }
    if (TimeLord(schedule).ShouldEmit(now, previous)) versions.push_back(Version(now, schedule));
    return versions;
  }

  Result<FetchedVersion> Get(const ResourceContext& ctx, const Json& source, const Json& version,
                             const Json& /*params*/, const std::string& dir) override {
    BATON_ASSIGN_OR_RETURN(TimeSchedule schedule, ParseSchedule(source));
    BATON_ASSIGN_OR_RETURN(std::optional<int64_t> t, PreviousTime(version));
    Json request{{"source", source}, {"version", version}};
    BATON_RETURN_IF_ERROR(WriteFile(std::filesystem::path(dir) / "input", request.dump() + "\n"));
    int64_t at = t ? *t : NowMs(ctx);
    return FetchedVersion{Version(at, schedule), {}};
  }

  Result<FetchedVersion> Put(const ResourceContext& ctx, const Json& source, const Json& /*params*/,
                             const std::string& /*dir*/) override {
    BATON_ASSIGN_OR_RETURN(TimeSchedule schedule, ParseSchedule(source));
    return FetchedVersion{Version(NowMs(ctx), schedule), {}};
  }

 private:
  static int64_t NowMs(const ResourceContext& ctx) {
    return ToUnixMillis((ctx.clock ? *ctx.clock : RealClock()).Now());
  }
  static Json Version(int64_t ms, const TimeSchedule& s) {
    return Json{{"time", FormatInZone(ms, s.zone)}};
  }
};

}  // namespace

std::unique_ptr<ResourceType> MakeTimeResourceType() {
  return std::make_unique<TimeResourceType>();
}

}  // namespace baton::workers::resources
