// Output of a running step, delivered line by line with a timestamp and stream.
#pragma once

#include <string_view>

#include "baton/common/clock.h"

namespace baton::workers {

enum class OutputStream { kStdout, kStderr, kSystem };  // kSystem: Baton's own messages
const char* ToString(OutputStream s);

// Receives output. Implementations must be thread-safe: workers call OnLine from their own
// threads. A line excludes its trailing newline; very long lines arrive split (max 64 KiB).
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void OnLine(SystemTime time, OutputStream stream, std::string_view line) = 0;
};

}  // namespace baton::workers
