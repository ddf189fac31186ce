#include "console_observer.h"

#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "baton/common/duration.h"

namespace baton::cli {
namespace {

constexpr std::string_view kNewline = "\n";
// The most a thread keeps of the buffer it printed a batch of lines from.
constexpr size_t kMaxKeptBytes = size_t{1} << 20;

// Writes pieces of memory to a file with writev, IOV_MAX at a time: a batch of log runs goes out
// from the runs' own bytes where it is printed as it is, instead of being copied into one buffer
// first. Stops at the first error, as the fwrite it replaces drops what it cannot write.
class GatherWriter {
 public:
  explicit GatherWriter(int fd) : fd_(fd) {}
  ~GatherWriter() { Flush(); }
  GatherWriter(const GatherWriter&) = delete;
  GatherWriter& operator=(const GatherWriter&) = delete;

  void Add(std::string_view piece) {
    if (piece.empty()) return;
    if (count_ == kMaxPieces) Flush();
    pieces_[count_++] = {const_cast<char*>(piece.data()), piece.size()};
  }

  void Flush() {
    for (int first = 0; first < count_ && !failed_;) {
      ssize_t n = ::writev(fd_, pieces_ + first, count_ - first);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failed_ = true;
        break;
      }
      // A short write (a pipe, a signal): go on from the first byte not written.
      auto left = static_cast<size_t>(n);
      for (; first < count_ && left >= pieces_[first].iov_len; ++first) {
        left -= pieces_[first].iov_len;
      }
      if (left > 0) {
        pieces_[first].iov_base = static_cast<char*>(pieces_[first].iov_base) + left;
        pieces_[first].iov_len -= left;
      }
    }
    count_ = 0;
  }

 private:
  static constexpr int kMaxPieces = IOV_MAX;
  const int fd_;
  iovec pieces_[kMaxPieces];
  int count_ = 0;
  bool failed_ = false;
};

const char* StatusColor(runner::BuildStatus s) {
  switch (s) {
    case runner::BuildStatus::kSucceeded:
      return "\033[32m";
    case runner::BuildStatus::kFailed:
      return "\033[31m";
    case runner::BuildStatus::kErrored:
      return "\033[33m";
    case runner::BuildStatus::kAborted:
      return "\033[35m";
    default:
      return "\033[36m";
  }
}

}  // namespace

ConsoleStyle DetectConsoleStyle(std::FILE* out) {
  ConsoleStyle style;
  style.color = isatty(fileno(out)) && getenv("NO_COLOR") == nullptr;
  return style;
}

std::string ColoredStatus(runner::BuildStatus status, bool color) {
  std::string text = runner::ToString(status);
  if (!color) return text;
  return std::string(StatusColor(status)) + text + "\033[0m";
}

ConsoleObserver::ConsoleObserver(std::string label, ConsoleStyle style, std::mutex& out_mu)
    : label_(std::move(label)), style_(style), out_mu_(out_mu) {}

std::string ConsoleObserver::Prefix(const runner::StepInfo& step) const {
  if (!style_.prefix) return {};
  std::string p = label_.empty() ? step.name : label_ + "/" + step.name;
  if (style_.color) return "\033[2m" + p + " │\033[0m ";
  return p + " | ";
}

void ConsoleObserver::Print(const std::string& text) {
  std::lock_guard lock(out_mu_);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void ConsoleObserver::OnStatus(runner::BuildStatus status, SystemTime time) {
  if (status == runner::BuildStatus::kStarted) {
    started_ = time;
    return;
  }
  if (!runner::IsFinished(status)) return;
  std::string who = label_.empty() ? "build" : label_;
  Print(who + " " + ColoredStatus(status, style_.color) + " in " + HumanDuration(time - started_) +
        "\n");
}

void ConsoleObserver::OnStepStarted(const runner::StepInfo& step, SystemTime) {
  std::string header = step.type + ": " + step.name;
  if (step.attempt > 1) header += " (attempt " + std::to_string(step.attempt) + ")";
  if (!step.hook.empty()) header += " [" + step.hook + "]";
  if (style_.color) header = "\033[1m" + header + "\033[0m";
  Print(Prefix(step) + header + "\n");
}

void ConsoleObserver::OnStepFinished(const runner::StepFinished& f, SystemTime) {
  if (f.status == runner::BuildStatus::kSucceeded) return;
  std::string line = Prefix(f.step) + ColoredStatus(f.status, style_.color);
  if (f.exit_code >= 0) line += " (exit " + std::to_string(f.exit_code) + ")";
  if (!f.message.empty()) line += ": " + f.message;
  Print(line + "\n");
}

void ConsoleObserver::AppendLine(std::string& out, const std::string& prefix,
                                 workers::OutputStream stream, std::string_view line) const {
  out += prefix;
  if (stream == workers::OutputStream::kSystem && style_.color) {
    out += "\033[36m";
    out += line;
    out += "\033[0m";
  } else {
    out += line;
  }
  out += '\n';
}

void ConsoleObserver::OnLog(const runner::StepInfo& step, workers::OutputStream stream, SystemTime,
                            std::string_view line) {
  std::string text;
  AppendLine(text, Prefix(step), stream, line);
  Print(text);
}

void ConsoleObserver::OnLogs(const runner::StepInfo& step, std::span<runner::LogLine> lines) {
  const std::string prefix = Prefix(step);
  // A run printed as it is (no prefix, no colour) goes out from its own bytes; lines that get a
  // prefix are copied behind it into one buffer per thread, kept between batches (fresh memory
  // cost a page fault per 4 KiB), and written as one piece: handing the kernel two pieces a line
  // instead made W4 through a pipe 5-8 % slower (the copy per piece costs more than ours).
  thread_local std::string text;
  text.clear();
  struct Piece {
    const char* own;  // a run's bytes, or null for text[begin, begin + size)
    size_t begin, size;
  };
  std::vector<Piece> pieces;
  for (const runner::LogLine& run : lines) {
    if (prefix.empty() && (run.stream != workers::OutputStream::kSystem || !style_.color)) {
      pieces.push_back({run.text.data(), 0, run.text.size()});
      pieces.push_back({kNewline.data(), 0, kNewline.size()});
      continue;
    }
    const size_t begin = text.size();
    runner::ForEachLine(run.text,
                        [&](std::string_view line) { AppendLine(text, prefix, run.stream, line); });
    if (!pieces.empty() && pieces.back().own == nullptr) {
      pieces.back().size += text.size() - begin;  // follows the last stretch of text
    } else {
      pieces.push_back({nullptr, begin, text.size() - begin});
    }
  }
  {
    std::lock_guard lock(out_mu_);
    std::fflush(stdout);  // what stdio holds was printed before this batch
    GatherWriter out(fileno(stdout));
    for (const Piece& piece : pieces) {
      out.Add(piece.own ? std::string_view(piece.own, piece.size)
                        : std::string_view(text).substr(piece.begin, piece.size));
    }
  }
  if (text.capacity() > kMaxKeptBytes) std::string().swap(text);
}

void ConsoleObserver::OnVersion(const runner::StepInfo& step, const std::string& resource,
                                const Json& version, const std::vector<MetadataField>&) {
  Print(Prefix(step) + step.type + " " + resource + " " + redactor_.RedactJson(version).dump() +
        "\n");
}

void ConsoleObserver::OnSecrets(const std::vector<std::string>& values) { redactor_.Add(values); }

}  // namespace baton::cli
