#include "baton/runner/resource_caches.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include "baton/common/files.h"
#include "baton/common/sha256.h"
#include "baton/pipelines/loader.h"

namespace baton::runner {

namespace fs = std::filesystem;

namespace {

constexpr const char* kEntryFile = "entry.json";
constexpr const char* kFilesDir = "files";

// What names an entry on disk and in the index: a digest, so that no source (its credentials)
// is written to entry.json.
std::string Digest(const ResourceCacheKey& key) {
  return Sha256Hex(key.config + "\n" + key.version);
}

Status Errno(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

// Owner, mode (for all but links) and times of `target` as `st` says.
Status CopyAttributes(const struct stat& st, const fs::path& target) {
  if (::lchown(target.c_str(), st.st_uid, st.st_gid) != 0 && errno != EPERM) {
    return Errno("cannot set the owner of " + target.string());
  }
  // No set-ID bit: what a fetch wrote as root must not become a way up for a task.
  if (!S_ISLNK(st.st_mode) && ::chmod(target.c_str(), st.st_mode & 01777) != 0) {
    return Errno("cannot set the mode of " + target.string());
  }
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, target.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return Errno("cannot set the times of " + target.string());
  }
  return Status::Ok();
}

Status CopyOne(const fs::path& from, const struct stat& st, const fs::path& to) {
  std::error_code ec;
  if (S_ISDIR(st.st_mode)) {
    fs::create_directory(to, ec);
  } else if (S_ISLNK(st.st_mode)) {
    fs::copy_symlink(from, to, ec);
  } else if (S_ISREG(st.st_mode)) {
    fs::copy_file(from, to, ec);
  } else {
    // Neither a git checkout nor a mock or time fetch makes one; a device file never reaches a
    // task (as with volume streams, docs/security.md).
    return FailedPrecondition("cannot copy " + from.string() +
                              ": only files, directories and links are copied");
  }
  if (ec)
    return IoError("cannot copy " + from.string() + " to " + to.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

ResourceCacheKey MakeResourceCacheKey(const std::string& type, const Json& source,
                                      const Json& params, const Json& version) {
  // Objects dump with their keys in order: one text for one value.
  return {type + "\n" + source.dump() + "\n" + params.dump(), version.dump()};
}

struct ResourceCaches::Slot {
  std::string digest;
  std::string config_digest;
  std::shared_ptr<std::atomic<bool>> evicted;
  std::shared_ptr<const Entry> entry;
};

ResourceCaches::ResourceCaches(fs::path root) : ResourceCaches(std::move(root), Limits()) {}

ResourceCaches::ResourceCaches(fs::path root, Limits limits)
    : root_(std::move(root)), limits_(limits) {
  // Numbered from the time on: no name of an earlier process's (a resumed build's journal may
  // name one that is gone since) is taken again, and names sort in the order they were made.
  next_dir_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
  LoadExisting();
}

ResourceCaches::~ResourceCaches() = default;

void ResourceCaches::LoadExisting() {
  std::error_code ec;
  fs::directory_iterator it(root_, ec);
  if (ec) return;  // none yet
  std::vector<std::pair<uint64_t, fs::path>> dirs;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    uint64_t n = 0;
    bool numbered =
        !name.empty() && name.size() < 20 &&
        std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); });
    if (numbered) n = std::stoull(name);
    if (!numbered || !it->is_directory(ec)) {
      remover_->Remove(it->path());
      continue;
    }
    dirs.emplace_back(n, it->path());
  }
  std::sort(dirs.begin(), dirs.end());  // oldest first: the newest ends most recently used
  std::lock_guard lock(mu_);
  for (const auto& [n, dir] : dirs) {
    next_dir_ = std::max(next_dir_, n + 1);
    auto text = pipelines::ReadTextFile((dir / kEntryFile).string());
    Json j = text.ok() ? Json::parse(*text, nullptr, /*allow_exceptions=*/false) : Json();
    if (!j.is_object() || !j.value("digest", Json()).is_string() ||
        !j.value("config_digest", Json()).is_string() || !j.contains("version")) {
      remover_->Remove(dir);  // a fetch that never finished
      continue;
    }
    Entry entry{dir, dir / kFilesDir, j["version"], {}};
    for (const Json& m : j.value("metadata", Json::array())) {
      if (m.is_object()) entry.metadata.push_back({m.value("name", ""), m.value("value", "")});
    }
    Keep(j["digest"].get<std::string>(), j["config_digest"].get<std::string>(), std::move(entry));
  }
  EvictLocked();
}

std::shared_ptr<const ResourceCaches::Entry> ResourceCaches::Find(const ResourceCacheKey& key) {
  const std::string digest = Digest(key);
  std::lock_guard lock(mu_);
  auto found = by_key_.find(digest);
  if (found == by_key_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, found->second);
  return (*found->second)->entry;
}

std::shared_ptr<const ResourceCaches::Entry> ResourceCaches::FindDir(const fs::path& dir) {
  std::lock_guard lock(mu_);
  for (const auto& slot : lru_) {
    if (slot->entry->dir == dir) return slot->entry;
  }
  return nullptr;
}

Result<fs::path> ResourceCaches::NewDir() {
  std::error_code ec;
  for (;;) {
    uint64_t n;
    {
      std::lock_guard lock(mu_);
      if (!root_made_) {
        fs::create_directories(root_, ec);
        if (ec) return IoError("cannot create " + root_.string() + ": " + ec.message());
        // Fetches may hold credentials: the caches are the worker's alone.
        fs::permissions(root_, fs::perms::owner_all, ec);
        root_made_ = true;
      }
      n = next_dir_++;
    }
    char name[24];
    std::snprintf(name, sizeof name, "%016llu", static_cast<unsigned long long>(n));
    fs::path dir = root_ / name;
    if (!fs::create_directory(dir, ec)) {
      if (!ec) continue;  // left by an earlier process after it looked: take the next
      return IoError("cannot create " + dir.string() + ": " + ec.message());
    }
    fs::create_directory(dir / kFilesDir, ec);
    if (ec) return IoError("cannot create " + (dir / kFilesDir).string() + ": " + ec.message());
    return dir;
  }
}

Result<std::shared_ptr<const ResourceCaches::Entry>> ResourceCaches::Add(
    const ResourceCacheKey& key, const fs::path& dir, const Json& version,
    const std::vector<MetadataField>& metadata) {
  const std::string digest = Digest(key);
  const std::string config_digest = Sha256Hex(key.config);
  Json metadata_json = Json::array();
  for (const auto& m : metadata) metadata_json.push_back({{"name", m.name}, {"value", m.value}});
  Json j{{"digest", digest},
         {"config_digest", config_digest},
         {"version", version},
         {"metadata", metadata_json}};
  BATON_RETURN_IF_ERROR(WriteFileAtomically(dir / kEntryFile, j.dump()));
  std::lock_guard lock(mu_);
  auto entry = Keep(digest, config_digest, Entry{dir, dir / kFilesDir, version, metadata});
  EvictLocked();
  return entry;
}

void ResourceCaches::Discard(const fs::path& dir) { remover_->Remove(dir); }

size_t ResourceCaches::size() {
  std::lock_guard lock(mu_);
  return lru_.size();
}

// REQUIRES: mu_ held.
std::shared_ptr<const ResourceCaches::Entry> ResourceCaches::Keep(const std::string& digest,
                                                                  std::string config_digest,
                                                                  Entry entry) {
  // Two builds that fetched one version at once: the later fetch is kept, the other goes when
  // its builds let go of it.
  if (auto old = by_key_.find(digest); old != by_key_.end()) EvictLocked(old->second);
  auto evicted = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<DirectoryRemover> remover = remover_;
  std::shared_ptr<const Entry> kept(new Entry(std::move(entry)), [evicted, remover](Entry* e) {
    if (*evicted) remover->Remove(e->dir);
    delete e;
  });
  auto slot = std::make_shared<Slot>(Slot{digest, std::move(config_digest), evicted, kept});
  lru_.push_front(slot);
  by_key_[digest] = lru_.begin();
  return kept;
}

// REQUIRES: mu_ held.
void ResourceCaches::EvictLocked(std::list<std::shared_ptr<Slot>>::iterator it) {
  std::shared_ptr<Slot> slot = *it;
  by_key_.erase(slot->digest);
  lru_.erase(it);
  *slot->evicted = true;  // its directory goes with the last holder of its entry (maybe now)
}

// REQUIRES: mu_ held.
void ResourceCaches::EvictLocked() {
  std::map<std::string, size_t> per_config;
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if (++per_config[(*it)->config_digest] > limits_.versions_per_config) EvictLocked(it);
    it = next;
  }
  while (lru_.size() > limits_.max_entries) EvictLocked(std::prev(lru_.end()));
}

Status ResourceCaches::CopyFiles(const Entry& entry, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return IoError("cannot create " + to.string() + ": " + ec.message());
  // Directories' times are set last: what is made in one changes its times.
  std::vector<std::pair<fs::path, struct stat>> dirs;
  struct stat st;
  if (::lstat(entry.files.c_str(), &st) != 0) {
    return Errno("the cached fetch " + entry.files.string() + " is gone");
  }
  dirs.emplace_back(to, st);
  fs::recursive_directory_iterator it(entry.files, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& from = it->path();
    if (::lstat(from.c_str(), &st) != 0) return Errno("cannot read " + from.string());
    const fs::path target = to / from.lexically_relative(entry.files);
    BATON_RETURN_IF_ERROR(CopyOne(from, st, target));
    if (S_ISDIR(st.st_mode)) {
      dirs.emplace_back(target, st);
    } else {
      BATON_RETURN_IF_ERROR(CopyAttributes(st, target));
    }
  }
  if (ec) return IoError("cannot read " + entry.files.string() + ": " + ec.message());
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) {
    BATON_RETURN_IF_ERROR(CopyAttributes(d->second, d->first));
  }
  return Status::Ok();
}

}  // namespace baton::runner
