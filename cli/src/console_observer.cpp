#include "console_observer.h"

#include <unistd.h>

#include "baton/common/duration.h"

namespace baton::cli {
namespace {

// The most a thread keeps of the buffer it printed a batch of lines from.
constexpr size_t kMaxKeptBytes = size_t{1} << 20;

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
  // One buffer per thread, kept between batches: a batch (up to 64 KiB of output and a prefix
  // per line) built in fresh memory each time cost a page fault per 4 KiB and the copies of its
  // growth (W4, issue 16). The executor's thread is the only caller in `baton run`.
  thread_local std::string text;
  text.clear();
  for (const runner::LogLine& run : lines) {
    // A run holds whole lines joined by '\n': each line gets the prefix (and colour).
    if (prefix.empty() && run.stream != workers::OutputStream::kSystem) {
      text.append(run.text).push_back('\n');
      continue;
    }
    runner::ForEachLine(run.text,
                        [&](std::string_view line) { AppendLine(text, prefix, run.stream, line); });
  }
  Print(text);  // one write for the batch, not one per line
  if (text.capacity() > kMaxKeptBytes) std::string().swap(text);
}

void ConsoleObserver::OnVersion(const runner::StepInfo& step, const std::string& resource,
                                const Json& version, const std::vector<MetadataField>&) {
  Print(Prefix(step) + step.type + " " + resource + " " + redactor_.RedactJson(version).dump() +
        "\n");
}

void ConsoleObserver::OnSecrets(const std::vector<std::string>& values) { redactor_.Add(values); }

}  // namespace baton::cli
