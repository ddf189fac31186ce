// LocalArtifactStore: ArtifactStore on the local disk (see artifact_store.h for the layout).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "baton/common/sha256.h"
#include "baton/common/strings.h"
#include "baton/workers/artifact_store.h"
#include "resources/resource_util.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;

std::string Errno(const fs::path& p) { return p.string() + ": " + std::strerror(errno); }

// Copies `from` to `to` while hashing it; returns the hex sha256.
Result<std::string> CopyAndHash(const fs::path& from, const fs::path& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return IoError("cannot read " + Errno(from));
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
  if (out < 0) {
    ::close(in);
    return IoError("cannot write " + Errno(to));
  }
  Sha256 hash;
  char buf[1 << 16];
  Status status;
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0) status = IoError("cannot read " + Errno(from));
    if (n <= 0) break;
    hash.Update(std::string_view(buf, static_cast<size_t>(n)));
    if (::write(out, buf, static_cast<size_t>(n)) != n) {
      status = IoError("cannot write " + Errno(to) + " (disk full?)");
      break;
    }
  }
  ::close(in);
  if (::close(out) != 0 && status.ok()) status = IoError("cannot write " + Errno(to));
  if (!status.ok()) return status;
  return hash.FinishHex();
}

Json VersionToJson(const ArtifactVersion& v) {
  return Json{{"digest", v.digest}, {"files", v.file_count}, {"bytes", v.bytes}};
}

ArtifactVersion VersionFromJson(const Json& j) {
  return {j.value("digest", std::string()), j.value("files", int64_t{0}),
          j.value("bytes", int64_t{0})};
}

ArtifactEntry EntryFromJson(const Json& e) {
  return {e.value("path", std::string()),
          e.value("type", std::string()),
          e.value("mode", 0),
          e.value("size", int64_t{0}),
          e.value("sha256", std::string()),
          e.value("target", std::string())};
}

class LocalArtifactStore final : public ArtifactStore {
 public:
  explicit LocalArtifactStore(fs::path root) : root_(std::move(root)) {}

  Result<ArtifactVersion> Put(const std::string& resource_key, const std::string& dir) override {
    std::shared_lock<std::shared_mutex> lock(gc_mu_);
    ArtifactVersion version;
    Json entries = Json::array();
    BATON_RETURN_IF_ERROR(SnapshotTree(fs::path(dir), &entries, &version));
    std::string manifest = Json{{"entries", entries}, {"format", 1}}.dump();
    version.digest = Sha256Hex(manifest);
    fs::path manifest_path = ManifestPath(version.digest);
    if (!fs::exists(manifest_path)) {
      BATON_RETURN_IF_ERROR(resources::WriteFileAtomically(manifest_path, manifest));
    }
    BATON_RETURN_IF_ERROR(AppendVersion(resource_key, version));
    return version;
  }

  Status Restore(const std::string& digest, const std::string& dir) override {
    std::shared_lock<std::shared_mutex> lock(gc_mu_);
    BATON_ASSIGN_OR_RETURN(Json manifest, LoadManifest(digest));
    for (const Json& e : manifest["entries"]) BATON_RETURN_IF_ERROR(RestoreEntry(e, fs::path(dir)));
    // Directory modes last, so read-only directories do not block their own contents.
    for (const Json& e : manifest["entries"]) {
      if (e["type"] == "dir")
        fs::permissions(fs::path(dir) / e["path"].get<std::string>(),
                        fs::perms(e["mode"].get<int>()));
    }
    return Status::Ok();
  }

  Result<std::vector<ArtifactVersion>> List(const std::string& resource_key) override {
    std::shared_lock<std::shared_mutex> lock(gc_mu_);
    std::lock_guard<std::mutex> list_lock(list_mu_);
    return ReadVersions(VersionsPath(resource_key));
  }

  Result<std::vector<ArtifactEntry>> Entries(const std::string& digest) override {
    std::shared_lock<std::shared_mutex> lock(gc_mu_);
    BATON_ASSIGN_OR_RETURN(Json manifest, LoadManifest(digest));
    std::vector<ArtifactEntry> out;
    for (const Json& e : manifest["entries"]) out.push_back(EntryFromJson(e));
    return out;
  }

  Result<std::string> ReadFile(const std::string& digest, const std::string& path) override {
    std::shared_lock<std::shared_mutex> lock(gc_mu_);
    BATON_ASSIGN_OR_RETURN(fs::path object, FileObject(digest, path));
    return resources::ReadFile(object);
  }

  Result<FilePart> ReadFilePart(const std::string& digest, const std::string& path, uint64_t offset,
                                uint64_t length) override {
    std::shared_lock<std::shared_mutex> lock(gc_mu_);
    BATON_ASSIGN_OR_RETURN(fs::path object, FileObject(digest, path));
    int fd = ::open(object.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return IoError("cannot read " + Errno(object));
    FilePart part;
    struct stat st {};
    Status status;
    if (::fstat(fd, &st) != 0) status = IoError("cannot stat " + Errno(object));
    part.size = static_cast<uint64_t>(st.st_size);
    uint64_t want = offset < part.size ? std::min(length, part.size - offset) : 0;
    part.bytes.resize(want);
    size_t done = 0;
    while (status.ok() && done < want) {
      ssize_t n =
          ::pread(fd, part.bytes.data() + done, want - done, static_cast<off_t>(offset + done));
      if (n <= 0) status = IoError("cannot read " + Errno(object));
      if (n > 0) done += static_cast<size_t>(n);
    }
    ::close(fd);
    if (!status.ok()) return status;
    return part;
  }

  Result<PruneStats> Prune(const std::string& resource_key, size_t keep_last) override {
    std::unique_lock<std::shared_mutex> lock(gc_mu_);
    PruneStats stats;
    fs::path list_path = VersionsPath(resource_key);
    BATON_ASSIGN_OR_RETURN(auto versions, ReadVersions(list_path));
    if (versions.size() > keep_last) {
      stats.versions_removed = static_cast<int64_t>(versions.size() - keep_last);
      versions.erase(versions.begin(), versions.end() - static_cast<ptrdiff_t>(keep_last));
      std::string text;
      for (const auto& v : versions) text += VersionToJson(v).dump() + "\n";
      BATON_RETURN_IF_ERROR(resources::WriteFileAtomically(list_path, text));
    }
    BATON_RETURN_IF_ERROR(CollectGarbage(&stats));
    return stats;
  }

 private:
  fs::path ManifestPath(const std::string& digest) const {
    return root_ / "manifests" / (digest + ".json");
  }
  // The object holding the regular file `path` of the snapshot `digest`.
  // REQUIRES: gc_mu_ held (shared).
  Result<fs::path> FileObject(const std::string& digest, const std::string& path) {
    BATON_ASSIGN_OR_RETURN(Json manifest, LoadManifest(digest));
    for (const Json& e : manifest["entries"]) {
      if (e.value("path", "") != path) continue;
      if (e.value("type", "") != "file") {
        return NotFound("artifact " + digest.substr(0, 12) + ": " + path + " is a " +
                        e.value("type", "") + ", not a regular file");
      }
      return ObjectPath(e.value("sha256", ""));
    }
    return NotFound("artifact " + digest.substr(0, 12) + " has no file " + path +
                    ": list its files first");
  }
  fs::path ObjectPath(const std::string& sha) const {
    return root_ / "objects" / sha.substr(0, 2) / sha.substr(2);
  }
  fs::path VersionsPath(const std::string& key) const {
    return root_ / "versions" / (Sha256Hex(key).substr(0, 32) + ".jsonl");
  }

  Status SnapshotTree(const fs::path& dir, Json* entries, ArtifactVersion* version) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      return NotFound("artifact store: " + dir.string() + " is not a directory");
    }
    std::set<fs::path> paths;  // sorted: the manifest is canonical
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      paths.insert(it->path());
    }
    if (ec) return IoError("artifact store: cannot list " + dir.string() + ": " + ec.message());
    for (const fs::path& p : paths) {
      BATON_ASSIGN_OR_RETURN(Json entry, SnapshotEntry(p, p.lexically_relative(dir), version));
      if (!entry.is_null()) entries->push_back(std::move(entry));
    }
    return Status::Ok();
  }

  Result<Json> SnapshotEntry(const fs::path& p, const fs::path& rel, ArtifactVersion* version) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return IoError("artifact store: cannot stat " + Errno(p));
    Json e{{"path", rel.generic_string()}, {"mode", st.st_mode & 07777}};
    if (S_ISDIR(st.st_mode)) {
      e["type"] = "dir";
    } else if (S_ISLNK(st.st_mode)) {
      e["type"] = "symlink";
      e["target"] = fs::read_symlink(p).string();
      e.erase("mode");
    } else if (S_ISREG(st.st_mode)) {
      BATON_ASSIGN_OR_RETURN(std::string sha, StoreObject(p));
      e["type"] = "file";
      e["size"] = static_cast<int64_t>(st.st_size);
      e["sha256"] = sha;
      version->file_count++;
      version->bytes += st.st_size;
    } else {
      return Json();  // sockets, fifos, devices are not artifacts
    }
    return e;
  }

  Result<std::string> StoreObject(const fs::path& file) {
    fs::path tmp_dir = root_ / "tmp";
    static std::atomic<uint64_t> counter{0};
    fs::path tmp = tmp_dir / (std::to_string(::getpid()) + "-" + std::to_string(++counter));
    BATON_ASSIGN_OR_RETURN(std::string sha, CopyAndHash(file, tmp));
    fs::path object = ObjectPath(sha);
    std::error_code ec;
    if (fs::exists(object, ec)) {
      fs::remove(tmp, ec);
      return sha;
    }
    fs::create_directories(object.parent_path(), ec);
    fs::rename(tmp, object, ec);
    if (ec) return IoError("artifact store: cannot store " + object.string() + ": " + ec.message());
    return sha;
  }

  Status AppendVersion(const std::string& key, const ArtifactVersion& v) {
    std::lock_guard<std::mutex> lock(list_mu_);
    fs::path path = VersionsPath(key);
    BATON_ASSIGN_OR_RETURN(auto existing, ReadVersions(path));
    for (const auto& e : existing) {
      if (e.digest == v.digest) return Status::Ok();
    }
    return resources::AppendLineDurably(path, VersionToJson(v).dump());
  }

  static Result<std::vector<ArtifactVersion>> ReadVersions(const fs::path& path) {
    std::vector<ArtifactVersion> out;
    if (!fs::exists(path)) return out;
    BATON_ASSIGN_OR_RETURN(std::string text, resources::ReadFile(path));
    for (const std::string& line : Split(text, '\n')) {
      if (Trim(line).empty()) continue;
      Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) continue;  // a torn last line after a crash
      out.push_back(VersionFromJson(j));
    }
    return out;
  }

  Result<Json> LoadManifest(const std::string& digest) const {
    bool hex =
        digest.size() == 64 && digest.find_first_not_of("0123456789abcdef") == std::string::npos;
    auto text = hex ? resources::ReadFile(ManifestPath(digest)) : Result<std::string>(NotFound(""));
    if (!text.ok()) {
      return NotFound("artifact " + digest +
                      " is not in the store (pruned by retention?): put it again or pick a newer "
                      "version");
    }
    Json manifest = Json::parse(*text, nullptr, false);
    if (!manifest.is_object() || !manifest["entries"].is_array()) {
      return Internal("artifact store: manifest " + digest + " is corrupt");
    }
    return manifest;
  }

  Status RestoreEntry(const Json& e, const fs::path& dir) {
    BATON_ASSIGN_OR_RETURN(fs::path target,
                           resources::PathInside(dir, e.value("path", ""), "artifact path"));
    std::error_code ec;
    std::string type = e.value("type", "");
    if (type == "dir") {
      fs::create_directories(target, ec);
    } else if (type == "symlink") {
      fs::create_symlink(e.value("target", ""), target, ec);
    } else if (type == "file") {
      fs::copy_file(ObjectPath(e.value("sha256", "")), target, fs::copy_options::overwrite_existing,
                    ec);
      if (!ec) fs::permissions(target, fs::perms(e["mode"].get<int>()), ec);
    }
    if (ec)
      return IoError("artifact restore: cannot create " + target.string() + ": " + ec.message());
    return Status::Ok();
  }

  // REQUIRES: gc_mu_ held exclusively.
  Status CollectGarbage(PruneStats* stats) {
    std::set<std::string> live_manifests;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(root_ / "versions", ec)) {
      BATON_ASSIGN_OR_RETURN(auto versions, ReadVersions(f.path()));
      for (const auto& v : versions) live_manifests.insert(v.digest);
    }
    std::set<std::string> live_objects;
    std::vector<fs::path> dead_manifests;
    for (const auto& f : fs::directory_iterator(root_ / "manifests", ec)) {
      std::string digest = f.path().stem().string();
      if (!live_manifests.count(digest)) {
        dead_manifests.push_back(f.path());
        continue;
      }
      BATON_ASSIGN_OR_RETURN(Json m, LoadManifest(digest));
      for (const Json& e : m["entries"]) {
        if (e.contains("sha256")) live_objects.insert(e["sha256"].get<std::string>());
      }
    }
    for (const fs::path& p : dead_manifests) {
      if (fs::remove(p, ec)) stats->manifests_removed++;
    }
    std::vector<fs::path> dead;
    for (const auto& f : fs::recursive_directory_iterator(root_ / "objects", ec)) {
      if (!f.is_regular_file()) continue;
      std::string sha = f.path().parent_path().filename().string() + f.path().filename().string();
      if (live_objects.count(sha)) continue;
      stats->bytes_freed += static_cast<int64_t>(f.file_size());
      dead.push_back(f.path());
    }
    for (const fs::path& p : dead) {
      if (fs::remove(p, ec)) stats->objects_removed++;
    }
    return Status::Ok();
  }

  const fs::path root_;
  std::shared_mutex gc_mu_;  // shared: Put/Restore/List; exclusive: Prune
  std::mutex list_mu_;       // version lists (read-check-append)
};

}  // namespace

Result<std::unique_ptr<ArtifactStore>> OpenLocalArtifactStore(const std::string& root) {
  std::error_code ec;
  for (const char* sub : {"objects", "manifests", "versions", "tmp"}) {
    fs::create_directories(fs::path(root) / sub, ec);
    if (ec) {
      return IoError("cannot create the artifact store at " + root + ": " + ec.message() +
                     " (check --data-dir permissions)");
    }
  }
  // Artifacts are build outputs (reports, binaries, whatever a task wrote): the server's only.
  fs::permissions(root, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) {
    return IoError("cannot make the artifact store at " + root +
                   " private (mode 0700): " + ec.message() + " (check --data-dir permissions)");
  }
  return std::unique_ptr<ArtifactStore>(new LocalArtifactStore(fs::path(root)));
}

}  // namespace baton::workers
