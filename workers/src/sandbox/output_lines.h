// LineSplitter: turns a byte stream into lines for an OutputSink, splitting lines longer than
// 64 KiB, so that memory stays bounded whatever the task prints. The lines found in one Feed are
// delivered as one OnLines batch. StderrTail keeps the last 4 KiB
// of a stream, cut at a line start. Not thread-safe (one per stream, used by one thread).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "baton/workers/output.h"

namespace baton::workers {

inline constexpr size_t kMaxLineBytes = 64 * 1024;

class LineSplitter {
 public:
  LineSplitter(OutputSink& sink, OutputStream stream) : sink_(sink), stream_(stream) {}
  // Emits every complete line in `data` (stamped `time`); keeps an unfinished one for later.
  void Feed(SystemTime time, std::string_view data);
  // Emits the unfinished last line, if any.
  void Finish(SystemTime time);

 private:
  void Emit(SystemTime time, std::string_view line) { sink_.OnLine(time, stream_, line); }
  void Flush();
  OutputSink& sink_;
  const OutputStream stream_;
  std::string pending_;            // never longer than kMaxLineBytes
  std::string completed_;          // the line pending_ held, once this Feed ended it
  std::vector<OutputLine> batch_;  // lines of the current Feed, pointing into its data (the
                                   // first may point into completed_)
};

class StreamTail {
 public:
  explicit StreamTail(size_t max_bytes) : max_(max_bytes) {}
  void Feed(std::string_view data);
  // The kept bytes, starting at a line boundary when one is available.
  std::string Text() const;

 private:
  size_t max_;
  std::string buf_;
};

}  // namespace baton::workers
