#include "remote/output_batcher.h"

#include <vector>

namespace baton::workers {

OutputBatcher::OutputBatcher(std::function<Status(const Json& lines)> send)
    : send_(std::move(send)), thread_([this] { SendLoop(); }) {}

OutputBatcher::~OutputBatcher() { Close(); }

void OutputBatcher::OnLine(SystemTime time, OutputStream stream, std::string_view line) {
  OutputLine one{time, stream, line};
  OnLines(std::span<const OutputLine>(&one, 1));
}

void OutputBatcher::OnLines(std::span<const OutputLine> lines) {
  std::unique_lock lock(mu_);
  for (const auto& l : lines) {
    // Wait for room unless the buffer is empty (a line larger than the buffer still goes).
    changed_.wait(lock, [&] {
      return dead_ || closing_ || bytes_ == 0 || bytes_ + l.text.size() <= kMaxBufferedBytes;
    });
    if (dead_) return;
    lines_.push_back({l.time, l.stream, std::string(l.text)});
    bytes_ += l.text.size();
  }
  changed_.notify_all();
}

void OutputBatcher::Close() {
  {
    std::unique_lock lock(mu_);
    if (!thread_.joinable()) return;
    closing_ = true;
    changed_.notify_all();
  }
  thread_.join();
}

void OutputBatcher::SendLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    changed_.wait(lock, [&] { return closing_ || !lines_.empty(); });
    if (dead_) {
      lines_.clear();
      bytes_ = 0;
    }
    if (lines_.empty()) {
      if (closing_) return;
      continue;
    }
    std::vector<wire::OwnedLine> batch;
    size_t batch_bytes = 0;
    while (!lines_.empty() && (batch.empty() || batch_bytes < kMaxBatchBytes)) {
      batch_bytes += lines_.front().text.size();
      batch.push_back(std::move(lines_.front()));
      lines_.pop_front();
    }
    lock.unlock();
    Status sent = send_(wire::LinesToJson(batch));
    lock.lock();
    bytes_ -= batch_bytes;
    if (sent.code() == StatusCode::kNotFound || sent.code() == StatusCode::kPermissionDenied) {
      dead_ = true;
      lines_.clear();
      bytes_ = 0;
    }
    changed_.notify_all();
  }
}

}  // namespace baton::workers
