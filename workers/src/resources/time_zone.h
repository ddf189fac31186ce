// TimeZone: UTC offsets of an IANA zone ("Europe/Berlin"), read from the system's TZif files
// under /usr/share/zoneinfo (or $TZDIR). Immutable after Load; thread-safe.
//
// Times after the file's last transition use the last offset (Debian ships "fat" files with
// transitions to 2037).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "baton/common/status.h"

namespace baton::workers::resources {

class TimeZone {
 public:
  static TimeZone Utc();
  // "UTC", "" and "Local"-free IANA names. NotFound with a hint for unknown names.
  static Result<TimeZone> Load(const std::string& name);

  const std::string& name() const { return name_; }
  // Offset from UTC, in seconds, in effect at `unix_seconds`.
  int OffsetAt(int64_t unix_seconds) const;
  // The instant whose local wall-clock reading is `local_seconds` (seconds since the epoch as if
  // local time were UTC). In a gap or overlap one of the candidates is returned, as Go does.
  int64_t FromLocal(int64_t local_seconds) const;

 private:
  std::string name_;
  std::vector<int64_t> transitions_;  // ascending
  std::vector<int> offsets_;          // offsets_[i] applies from transitions_[i]
  int initial_offset_ = 0;            // before the first transition
};

}  // namespace baton::workers::resources
