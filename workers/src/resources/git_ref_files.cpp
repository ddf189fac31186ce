#include "resources/git_ref_files.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "baton/common/json.h"
#include "baton/common/strings.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

const char* const kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// "+0100" (or "+01:00" with `colon`).
std::string Zone(int offset_minutes, bool colon) {
  int off = std::abs(offset_minutes);
  char zone[16];
  std::snprintf(zone, sizeof zone, colon ? "%c%02d:%02d" : "%c%02d%02d",
                offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
  return zone;
}

// printf's %s (and %%) as git-resource's awk applies short_ref_format.
std::string ApplyFormat(const std::string& format, const std::string& value) {
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '%' && i + 1 < format.size() && format[i + 1] == 's') {
      out += value;
      ++i;
    } else if (format[i] == '%' && i + 1 < format.size() && format[i + 1] == '%') {
      out += '%';
      ++i;
    } else {
      out += format[i];
    }
  }
  return out;
}

std::string MetadataJson(const std::vector<MetadataField>& metadata) {
  Json out = Json::array();
  for (const auto& m : metadata) out.push_back({{"name", m.name}, {"value", m.value}});
  return out.dump(2) + "\n";
}

}  // namespace

std::string GitDate(const GitSignature& when, const std::string& format) {
  int64_t unix_secs =
      std::chrono::duration_cast<std::chrono::seconds>(when.when.time_since_epoch()).count();
  if (format == "unix") return std::to_string(unix_secs);
  std::string zone = Zone(when.offset_minutes, false);
  if (format == "raw") return std::to_string(unix_secs) + " " + zone;
  std::time_t local = static_cast<std::time_t>(unix_secs + when.offset_minutes * 60LL);
  std::tm tm{};
  gmtime_r(&local, &tm);
  char buf[96];
  if (format == "short") {
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  } else if (format == "iso8601-strict" || format == "iso-strict") {
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return buf + Zone(when.offset_minutes, true);       // git 2.39 writes +00:00, not Z
  } else if (format == "rfc2822" || format == "rfc") {  // git: the day is not zero-padded
    std::snprintf(buf, sizeof buf, "%s, %d %s %d %02d:%02d:%02d %s", kWeekdays[tm.tm_wday],
                  tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec, zone.c_str());
  } else if (format == "default") {
    std::snprintf(buf, sizeof buf, "%s %s %d %02d:%02d:%02d %d %s", kWeekdays[tm.tm_wday],
                  kMonths[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  tm.tm_year + 1900, zone.c_str());
  } else {  // iso8601, iso
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return std::string(buf) + " " + zone;
  }
  return buf;
}

std::string CommitWebUrl(const std::string& remote_url, const std::string& sha) {
  std::string host_path;
  std::string scheme = StartsWith(remote_url, "http://") ? "http://" : "https://";
  if (StartsWith(remote_url, "https://") || StartsWith(remote_url, "http://")) {
    std::string rest = remote_url.substr(remote_url.find("://") + 3);
    size_t slash = rest.find('/');
    size_t at = rest.rfind('@', slash);  // credentials are dropped
    host_path = at != std::string::npos && at < slash ? rest.substr(at + 1) : rest;
  } else if (size_t colon = remote_url.find(':');
             colon != std::string::npos && remote_url.find("://") == std::string::npos &&
             remote_url.find('@') < colon && remote_url.find('/') > colon) {
    // scp-style ssh: git@github.com:owner/repo.git
    std::string host =
        remote_url.substr(remote_url.find('@') + 1, colon - remote_url.find('@') - 1);
    host_path = host + "/" + remote_url.substr(colon + 1);
  } else if (StartsWith(remote_url, "ssh://")) {
    std::string rest = remote_url.substr(6);
    size_t slash = rest.find('/');
    if (slash == std::string::npos) return "";
    std::string host = rest.substr(0, slash);
    if (size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
    if (size_t port = host.find(':'); port != std::string::npos) host = host.substr(0, port);
    host_path = host + rest.substr(slash);
  } else {
    return "";
  }
  while (!host_path.empty() && host_path.back() == '/') host_path.pop_back();
  if (EndsWith(host_path, ".git")) host_path.resize(host_path.size() - 4);
  if (host_path.find('/') == std::string::npos) return "";
  return scheme + host_path + "/commit/" + sha;
}

namespace {

// The files with their contents, or empty when `placeholders`.
Status WriteRefFileSet(const std::string& checkout, const GitRefFiles& f,
                       const GitGetParams& params, bool placeholders) {
  fs::path git = fs::path(checkout) / ".git";
  const GitCommit& c = f.commit;
  // Newlines as git-resource leaves them: `echo` and `jq -r` add one, `git log --format=format:`
  // and awk's printf do not.
  const std::pair<const char*, std::string> files[] = {
      {"ref", f.ref + "\n"},
      {"commit", c.sha + "\n"},
      {"short_ref", ApplyFormat(params.short_ref_format, f.ref.substr(0, 7))},
      {"branch", f.branch + "\n"},
      {"tags", Join(f.tags, ",") + "\n"},
      {"author", c.author.name + "\n"},
      {"author_date", GitDate(c.author) + "\n"},
      {"committer", c.author.email},
      {"committer_name", c.author.name},
      {"committer_date", GitDate(c.committer) + "\n"},
      {"commit_message", c.message},
      {"commit_timestamp", GitDate(c.committer, params.timestamp_format) + "\n"},
      {"describe_ref", f.describe + "\n"},
      {"url", f.url + "\n"},
      {"metadata.json", MetadataJson(f.metadata)},
  };
  for (const auto& [name, content] : files) {
    BATON_RETURN_IF_ERROR(WriteFile(git / name, placeholders ? "" : content));
  }
  return Status::Ok();
}

}  // namespace

Status WriteGitRefFiles(const std::string& checkout, const GitRefFiles& files,
                        const GitGetParams& params) {
  return WriteRefFileSet(checkout, files, params, /*placeholders=*/false);
}

Status CreateGitRefFilePlaceholders(const std::string& checkout) {
  return WriteRefFileSet(checkout, GitRefFiles{}, GitGetParams{}, /*placeholders=*/true);
}

}  // namespace baton::workers::resources
