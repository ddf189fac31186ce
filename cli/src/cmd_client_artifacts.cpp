// Getting artifacts back from a server: `baton artifacts -r P/R` lists the stored versions of an
// `artifact` resource; `baton download-artifact -r P/R [-v VERSION] -o DIR` fetches one over the
// API (so it works against a remote server): the file list first, then each file.
// `baton write-baseline -r P/R [-v VERSION] -o FILE` writes the findings baseline of an analysis
// stage from the `baseline.json` its run stored with its reports (or from a local --from DIR).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "baton/common/fd_io.h"
#include "baton/common/sha256.h"
#include "client/client_command.h"
#include "client/table.h"
#include "command.h"
#include "local_env.h"

namespace baton::cli {
namespace {

namespace fs = std::filesystem;

struct ArtifactFlags {
  ClientFlags client;
  std::string resource_path;  // P/R
  std::string version;        // download: a version id or a digest (prefix); empty = newest
  std::string output_dir;     // write-baseline: the baseline file
  std::string from_dir;       // write-baseline: a local reports directory instead of -r
  int count = 50;
};

std::string Digest(const Json& version) {
  return version.contains("version") ? Field(version["version"], "digest") : "";
}

// A version's metadata field ([{"name": ..., "value": ...}]), or "?" when it has none.
std::string MetadataValue(const Json& version, const std::string& name) {
  const Json& metadata = version.contains("metadata") ? version["metadata"] : Json();
  for (const auto& field : metadata.is_array() ? metadata : Json::array()) {
    if (field.is_object() && field.value("name", "") == name) return Field(field, "value");
  }
  return "?";
}

int ListArtifacts(const ArtifactFlags& flags) {
  bool usage = false;
  auto r = ConnectToResource(flags.client, flags.resource_path, usage);
  if (!r.ok()) return ReportError(r.status(), usage);
  auto versions = r->client.Get(r->base + "/versions?limit=" + std::to_string(flags.count));
  if (!versions.ok()) return ReportError(versions.status());
  if (flags.client.json) {
    PrintJson(*versions);
    return kExitOk;
  }
  Table table({"id", "digest", "files", "bytes", "created"});
  for (const auto& v : *versions) {
    // The put's metadata (the store keeps it when a later check finds the version again).
    table.AddRow({Field(v, "id"), Digest(v).substr(0, 12), MetadataValue(v, "files"),
                  MetadataValue(v, "bytes"), Field(v, "created_at")});
  }
  table.Print(stdout, WantsColor(stdout));
  if (versions->empty()) {
    std::fprintf(stderr, "%s has no versions yet: a `put` to it stores one\n",
                 flags.resource_path.c_str());
  }
  return kExitOk;
}

// -v: a version id, or a digest or its prefix (as `baton artifacts` shows it); empty: newest.
Result<Json> PickVersion(ApiClient& client, const std::string& base, const std::string& flag) {
  BATON_ASSIGN_OR_RETURN(Json versions, client.Get(base + "/versions?limit=1000"));
  if (versions.empty()) {
    return NotFound("the resource has no versions yet: a `put` to it stores one");
  }
  if (flag.empty()) return versions[0];  // newest first
  for (const auto& v : versions) {
    if (Field(v, "id") == flag) return v;
  }
  std::vector<Json> matches;
  for (const auto& v : versions) {
    if (Digest(v).rfind(flag, 0) == 0) matches.push_back(v);
  }
  if (matches.size() == 1) return matches[0];
  if (matches.size() > 1) {
    return InvalidArgument("-v " + flag + " matches " + std::to_string(matches.size()) +
                           " digests: give more of it");
  }
  return NotFound("no version with id or digest " + flag + ": list them with baton artifacts -r");
}

// A path from the server, used under the output directory: relative, no "..".
Result<fs::path> SafePath(const fs::path& root, const std::string& rel) {
  fs::path p(rel);
  bool ok = !rel.empty() && p.is_relative();
  for (const auto& part : p) ok = ok && part != ".." && part != ".";
  if (!ok) return InvalidArgument("the server listed an unsafe artifact path: " + rel);
  return root / p;
}

// An open output file: written with O_NOFOLLOW (never through a symlink already at that path)
// and closed on destruction.
class OutputFile {
 public:
  explicit OutputFile(const fs::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  ~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  Status Write(std::string_view bytes) {
    if (fd_ < 0 || !WriteAll(fd_, bytes)) return Failed();
    return Status::Ok();
  }
  Status Close(int mode) {
    if (fd_ < 0) return Failed();
    bool failed = ::fchmod(fd_, static_cast<mode_t>(mode & 07777)) != 0;
    failed = ::close(fd_) != 0 || failed;
    fd_ = -1;
    return failed ? Failed() : Status::Ok();
  }

 private:
  Status Failed() const {
    return IoError("cannot write " + path_.string() + ": " + std::strerror(errno) +
                   " (disk full?)");
  }
  fs::path path_;
  int fd_ = -1;
};

Status WriteFileWithMode(const fs::path& path, const std::string& bytes, int mode) {
  OutputFile out(path);
  BATON_RETURN_IF_ERROR(out.Write(bytes));
  return out.Close(mode);
}

// Each request asks for at most this many bytes of a file, so a large artifact is never held
// in memory whole (here or on the server) and each request ends well within its time limit.
constexpr uint64_t kPartBytes = 4 << 20;

// Downloads the file entry `e` into `path` part by part, hashing as it goes; a file that does
// not arrive whole and with the listed SHA-256 is removed and reported.
Status FetchFile(ApiClient& client, const std::string& url, const Json& e, const fs::path& path) {
  const std::string rel = Field(e, "path");
  const uint64_t size = static_cast<uint64_t>(std::max<int64_t>(e.value("size", int64_t{0}), 0));
  const std::string file_url = url + "/file?path=" + net::PercentEncode(rel);
  Sha256 hash;
  uint64_t got = 0;
  OutputFile out(path);
  Status status = Status::Ok();
  while (status.ok() && got < size) {
    bool whole = false;  // an older server that ignores Range sends the whole file
    auto part = client.GetRange(file_url, got, std::min(got + kPartBytes, size) - 1, &whole);
    if (!part.ok()) {
      status = part.status();
      break;
    }
    if (part->empty()) break;  // the server has less than it listed
    hash.Update(*part);
    got += part->size();
    status = out.Write(*part);
    if (whole) break;
  }
  if (status.ok()) status = out.Close(e.value("mode", 0644));
  std::error_code ec;
  if (status.ok() && got != size) {
    status = Internal("artifact file " + rel + " arrived with " + std::to_string(got) +
                      " bytes, expected " + std::to_string(size) + ": download again");
  }
  std::string sha256 = hash.FinishHex();
  if (status.ok() && sha256 != Field(e, "sha256")) {
    status = IoError("artifact file " + rel + " arrived damaged: its SHA-256 is " + sha256 +
                     ", the server's listing says " + Field(e, "sha256") +
                     ". Download again; if it stays so, the server's stored copy is damaged "
                     "(under its <data-dir>/artifacts/objects)");
  }
  if (!status.ok()) fs::remove(path, ec);
  return status;
}

// Fetches every entry of `listing` into `root`: directories, then files, symlinks last (so no
// file is written through a symlink the artifact brought).
Result<int64_t> FetchEntries(ApiClient& client, const std::string& url, const Json& listing,
                             const fs::path& root) {
  int64_t files = 0;
  for (const char* type : {"dir", "file", "symlink"}) {
    for (const auto& e : listing["entries"]) {
      if (Field(e, "type") != type) continue;
      BATON_ASSIGN_OR_RETURN(fs::path path, SafePath(root, Field(e, "path")));
      std::error_code ec;
      if (std::string(type) == "dir") {
        fs::create_directories(path, ec);
      } else if (std::string(type) == "symlink") {
        fs::remove(path, ec);
        fs::create_symlink(Field(e, "target"), path, ec);
      } else {
        fs::create_directories(path.parent_path(), ec);
        BATON_RETURN_IF_ERROR(FetchFile(client, url, e, path));
        files++;
      }
      if (ec) return IoError("cannot create " + path.string() + ": " + ec.message());
    }
  }
  return files;
}

int DownloadArtifact(const ArtifactFlags& flags) {
  bool usage = false;
  auto r = ConnectToResource(flags.client, flags.resource_path, usage);
  if (!r.ok()) return ReportError(r.status(), usage);
  auto version = PickVersion(r->client, r->base, flags.version);
  if (!version.ok()) {
    return ReportError(version.status(), version.status().code() == StatusCode::kInvalidArgument);
  }
  std::string url = r->base + "/versions/" + Field(*version, "id") + "/artifact";
  auto listing = r->client.Get(url);
  if (!listing.ok()) return ReportError(listing.status());
  std::error_code ec;
  fs::create_directories(flags.output_dir, ec);
  if (ec) {
    return ReportError(IoError("cannot create " + flags.output_dir + ": " + ec.message()));
  }
  auto files = FetchEntries(r->client, url, *listing, fs::path(flags.output_dir));
  if (!files.ok()) return ReportError(files.status());
  std::printf("downloaded %s version %s (%s): %lld files, %s bytes into %s\n",
              flags.resource_path.c_str(), Field(*version, "id").c_str(),
              Digest(*version).substr(0, 12).c_str(), static_cast<long long>(*files),
              Field(*listing, "bytes").c_str(), flags.output_dir.c_str());
  return kExitOk;
}

// A findings baseline as the analysis stages write it (ci/scripts/findings.py).
Result<Json> ParseBaseline(const std::string& text, const std::string& where) {
  Json doc = Json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("findings") || !doc["findings"].is_array()) {
    return InvalidArgument(where +
                           " is not a findings baseline (no \"findings\" list): is it the "
                           "reports of an analysis stage made by findings.py?");
  }
  for (const auto& f : doc["findings"]) {
    for (const char* key : {"tool", "file", "check", "message"}) {
      if (!f.is_object() || !f.contains(key) || !f[key].is_string()) {
        return InvalidArgument(where + ": a finding without a \"" + std::string(key) +
                               "\" string: " + f.dump());
      }
    }
  }
  return doc;
}

Result<std::string> BaselineText(const ArtifactFlags& flags) {
  if (!flags.from_dir.empty()) {
    fs::path file = fs::path(flags.from_dir) / "baseline.json";
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      return NotFound("no baseline.json in " + flags.from_dir +
                      ": give the reports directory of an analysis stage");
    }
    return ReadInputFile(file.string());
  }
  bool usage = false;
  BATON_ASSIGN_OR_RETURN(ResourceEndpoint r,
                         ConnectToResource(flags.client, flags.resource_path, usage));
  BATON_ASSIGN_OR_RETURN(Json version, PickVersion(r.client, r.base, flags.version));
  std::string url = r.base + "/versions/" + Field(version, "id") + "/artifact/file?path=";
  auto text = r.client.GetBytes(url + "baseline.json");
  if (!text.ok() && r.client.last_http_status() == 404) {
    return NotFound("version " + Field(version, "id") + " of " + flags.resource_path +
                    " has no baseline.json: name the reports of an analysis stage (" +
                    text.status().message() + ")");
  }
  return text;
}

int WriteBaseline(const ArtifactFlags& flags) {
  if (flags.from_dir.empty() == flags.resource_path.empty()) {
    return ReportError(InvalidArgument("give either -r PIPELINE/RESOURCE or --from DIR"), true);
  }
  auto text = BaselineText(flags);
  if (!text.ok()) return ReportError(text.status());
  auto doc = ParseBaseline(*text, flags.from_dir.empty() ? flags.resource_path : flags.from_dir);
  if (!doc.ok()) return ReportError(doc.status());
  std::error_code ec;
  fs::path out(flags.output_dir);
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  if (Status s = WriteFileWithMode(out, doc->dump(2) + "\n", 0644); !s.ok()) {
    return ReportError(s);
  }
  std::printf(
      "wrote %zu known findings of %s to %s: commit it, and from then on only new "
      "findings fail the stage\n",
      (*doc)["findings"].size(), Field(*doc, "stage").c_str(), flags.output_dir.c_str());
  return kExitOk;
}

void RegisterArtifactCommands(CLI::App& root, int& exit_code) {
  auto list = std::make_shared<ArtifactFlags>();
  auto* list_cmd =
      root.add_subcommand("artifacts", "List the stored versions of an artifact resource");
  list->client.AddTo(list_cmd, true);
  list_cmd->add_option("-r,--resource", list->resource_path, "PIPELINE/RESOURCE")->required();
  list_cmd->add_option("-c,--count", list->count, "How many (default 50)")
      ->check(CLI::Range(1, 1000));
  list_cmd->callback([list, &exit_code] { exit_code = ListArtifacts(*list); });

  auto get = std::make_shared<ArtifactFlags>();
  auto* get_cmd = root.add_subcommand(
      "download-artifact", "Download one version of an artifact resource into a directory");
  get->client.AddTo(get_cmd);
  get_cmd->add_option("-r,--resource", get->resource_path, "PIPELINE/RESOURCE")->required();
  get_cmd->add_option("-v,--version", get->version,
                      "Version id or digest (prefix) from `baton artifacts` (default: the newest)");
  get_cmd->add_option("-o,--output", get->output_dir, "Directory to write the files into")
      ->required();
  get_cmd->callback([get, &exit_code] { exit_code = DownloadArtifact(*get); });

  auto base = std::make_shared<ArtifactFlags>();
  auto* base_cmd = root.add_subcommand(
      "write-baseline", "Write an analysis stage's findings baseline from the reports of a run");
  base->client.AddTo(base_cmd);
  base_cmd->add_option("-r,--resource", base->resource_path,
                       "PIPELINE/RESOURCE: the stage's reports (an artifact resource)");
  base_cmd->add_option("-v,--version", base->version,
                       "Version id or digest (prefix) of the reports (default: the newest)");
  base_cmd->add_option("--from", base->from_dir,
                       "A local reports directory (download-artifact, execute -o) instead of -r");
  base_cmd
      ->add_option("-o,--output", base->output_dir,
                   "The baseline file to write, e.g. ci/baselines/static-analysis.json")
      ->required();
  base_cmd->callback([base, &exit_code] { exit_code = WriteBaseline(*base); });
}

BATON_COMMAND(RegisterArtifactCommands, "artifacts", "download-artifact", "write-baseline");

}  // namespace
}  // namespace baton::cli
