#include "executor/build_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace baton::runner {

namespace {

const char* KindName(ActionResult::Kind kind) {
  switch (kind) {
    case ActionResult::Kind::kSucceeded:
      return "succeeded";
    case ActionResult::Kind::kFailed:
      return "failed";
    case ActionResult::Kind::kErrored:
      return "errored";
  }
  return "errored";
}

}  // namespace

Json ActionResultJson(const ActionResult& result) {
  Json j = {{"kind", KindName(result.kind)}};
  if (!result.message.empty()) j["message"] = result.message;
  if (result.exit_code >= 0) j["exit_code"] = result.exit_code;
  if (!result.version.is_null()) j["version"] = result.version;
  if (!result.metadata.empty()) {
    Json metadata = Json::array();
    for (const auto& m : result.metadata)
      metadata.push_back({{"name", m.name}, {"value", m.value}});
    j["metadata"] = std::move(metadata);
  }
  if (!result.content.empty()) j["content"] = result.content;
  if (!result.cached_at.empty()) j["cached_at"] = result.cached_at;
  return j;
}

ActionResult ActionResultFromJson(const Json& json) {
  ActionResult r;
  std::string kind = json.value("kind", "errored");
  r.kind = kind == "succeeded" ? ActionResult::Kind::kSucceeded
           : kind == "failed"  ? ActionResult::Kind::kFailed
                               : ActionResult::Kind::kErrored;
  r.message = json.value("message", "");
  r.exit_code = json.value("exit_code", -1);
  r.cached_at = json.value("cached_at", "");
  if (json.contains("version")) r.version = json["version"];
  for (const auto& m : json.value("metadata", Json::array())) {
    if (m.is_object()) r.metadata.push_back({m.value("name", ""), m.value("value", "")});
  }
  r.content = json.value("content", "");
  return r;
}

BuildJournal::~BuildJournal() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::vector<JournalEntry>> BuildJournal::Read(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("no build journal at " + path);
  std::vector<JournalEntry> entries;
  std::string line;
  while (std::getline(in, line)) {
    Json j = Json::parse(line, nullptr, false);
    if (!j.is_object()) break;  // torn by a crash mid-write: nothing after it was written
    JournalEntry e;
    if (j.contains("a")) {
      e.kind = JournalEntry::Kind::kResult;
      e.id = j.value("a", int64_t{0});
      e.result = ActionResultFromJson(j.value("r", Json::object()));
    } else if (j.contains("t")) {
      e.kind = JournalEntry::Kind::kTimer;
      e.id = j.value("t", int64_t{0});
    } else if (j.value("abort", false)) {
      e.kind = JournalEntry::Kind::kAbort;
    } else {
      return InvalidArgument("build journal " + path + " has an entry of no known kind: " + line);
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

Status BuildJournal::Open(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0)
    return IoError("cannot open the build journal " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

void BuildJournal::Append(const JournalEntry& entry) {
  if (fd_ < 0) return;
  Json j;
  if (entry.kind == JournalEntry::Kind::kResult) {
    j = {{"a", entry.id}, {"r", ActionResultJson(entry.result)}};
  } else if (entry.kind == JournalEntry::Kind::kTimer) {
    j = {{"t", entry.id}};
  } else {
    j = {{"abort", true}};
  }
  std::string line = j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  // One write per line (O_APPEND): a reader sees whole lines, or a torn last one after a crash.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // A journal with a gap would replay wrongly: without one, the build cannot be resumed.
      ::close(fd_);
      fd_ = -1;
      ::unlink(path_.c_str());
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace baton::runner
