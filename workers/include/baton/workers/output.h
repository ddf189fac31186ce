// Output of a running step, delivered line by line with a timestamp and stream.
#pragma once

#include <span>
#include <string_view>

#include "baton/common/clock.h"

namespace baton::workers {

enum class OutputStream { kStdout, kStderr, kSystem };  // kSystem: Baton's own messages
const char* ToString(OutputStream s);

// One line of a batch; `text` is valid only during the OnLines call.
struct OutputLine {
  SystemTime time;
  OutputStream stream;
  std::string_view text;
};

// Receives output. Implementations must be thread-safe: workers call OnLine from their own
// threads. A line excludes its trailing newline; very long lines arrive split (max 64 KiB).
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void OnLine(SystemTime time, OutputStream stream, std::string_view line) = 0;
  // Several consecutive lines at once, in order: a task printing fast has its output delivered
  // in batches of up to one pipe read (64 KiB). The default calls OnLine for each; a sink that
  // hands lines to another thread should override it and hand over a batch at a time. The local
  // worker's lines of one read lie back to back in its buffer, one '\n' apart (so a sink may
  // copy a stretch of them at once), but for a first line begun in an earlier read.
  virtual void OnLines(std::span<const OutputLine> lines) {
    for (const auto& l : lines) OnLine(l.time, l.stream, l.text);
  }
};

}  // namespace baton::workers
