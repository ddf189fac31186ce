#include "sandbox/output_lines.h"

#include <algorithm>

namespace baton::workers {

void LineSplitter::Feed(SystemTime time, std::string_view data) {
  while (!data.empty()) {
    size_t room = kMaxLineBytes - pending_.size();
    size_t nl = data.substr(0, room).find('\n');
    if (nl != std::string_view::npos) {
      if (pending_.empty()) {
        batch_.push_back(OutputLine{time, stream_, data.substr(0, nl)});
      } else {  // only ever the first line of a Feed: nothing is batched yet
        // The line begun in an earlier read goes in this read's batch, from its own buffer: a
        // batch of its own made a one-line run, store event and chunk per read (W4: 262 of a
        // run's 570 chunks).
        pending_.append(data.substr(0, nl));
        completed_.swap(pending_);
        pending_.clear();
        batch_.push_back(OutputLine{time, stream_, completed_});
      }
      data.remove_prefix(nl + 1);
      continue;
    }
    Flush();  // the rest goes to pending_; batched lines must not wait for it
    if (data.size() < room) {
      pending_.append(data);
      return;
    }
    // A full 64 KiB without a newline: deliver it as a line of its own.
    pending_.append(data.substr(0, room));
    Emit(time, pending_);
    pending_.clear();
    data.remove_prefix(room);
  }
  Flush();
}

void LineSplitter::Flush() {
  if (batch_.empty()) return;
  if (batch_.size() == 1) {
    Emit(batch_[0].time, batch_[0].text);
  } else {
    sink_.OnLines(batch_);
  }
  batch_.clear();
}

void LineSplitter::Finish(SystemTime time) {
  if (pending_.empty()) return;
  Emit(time, pending_);
  pending_.clear();
}

void StreamTail::Feed(std::string_view data) {
  if (data.size() >= max_) {
    buf_.assign(data.substr(data.size() - max_));
    return;
  }
  buf_.append(data);
  if (buf_.size() > 2 * max_) buf_.erase(0, buf_.size() - max_);
}

std::string StreamTail::Text() const {
  std::string_view v = buf_;
  if (v.size() > max_) v.remove_prefix(v.size() - max_);
  if (v.size() == max_) {  // possibly cut mid-line: start after the first newline
    size_t nl = v.find('\n');
    if (nl != std::string_view::npos && nl + 1 < v.size()) v.remove_prefix(nl + 1);
  }
  return std::string(v);
}

}  // namespace baton::workers
