// Durations in the syntax pipeline authors write (Go's time.ParseDuration: "1h30m", "90s",
// "250ms", "1.5h"), and back. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton {

using Duration = std::chrono::nanoseconds;

// Parses "300ms", "-1.5h", "2h45m", "1us"/"1µs", "0". Units: ns us µs ms s m h.
// Returns InvalidArgument with a message that says what was expected.
Result<Duration> ParseDuration(std::string_view text);

// Formats like Go: "1h30m0s", "250ms", "0s".
std::string FormatDuration(Duration d);

// Short human form for tables: "3.2s", "1m05s", "12ms".
std::string HumanDuration(Duration d);

}  // namespace baton
