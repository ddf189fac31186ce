#include "images/image_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>

namespace baton::workers {
namespace {

namespace fs = std::filesystem;

constexpr char kInUse[] = ".in-use";  // flock'd: shared by each Hold, exclusive by Collect
constexpr char kSize[] = ".size";     // bytes on disk, measured when the entry was filled

// One lock per entry path, for every ImageCache in the process (workers may share a dir).
std::shared_ptr<std::mutex> EntryLock(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<std::mutex>> locks;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = locks[path];
  if (!slot) slot = std::make_shared<std::mutex>();
  return slot;
}

bool ValidKey(const std::string& key) {
  if (key.empty() || key[0] == '.') return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Unique(const std::string& prefix) {
  static std::atomic<uint64_t> counter{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Blocks on disk under `dir` (hard links counted once).
uint64_t DiskUsage(const fs::path& dir) {
  uint64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.insert({st.st_dev, st.st_ino}).second)
      continue;
    total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

uint64_t EntrySize(const fs::path& entry) {
  std::ifstream in(entry / kSize);
  uint64_t size = 0;
  if (in >> size) return size;
  size = DiskUsage(entry);  // an entry from before sizes were recorded
  std::ofstream(entry / kSize) << size << "\n";
  return size;
}

void Touch(const fs::path& entry) {
  std::error_code ec;
  fs::last_write_time(entry, fs::file_time_type::clock::now(), ec);
}

}  // namespace

ImageCache::Hold& ImageCache::Hold::operator=(Hold&& o) noexcept {
  if (this != &o) {
    Release();
    fd_ = std::exchange(o.fd_, -1);
    entry_ = std::move(o.entry_);
  }
  return *this;
}

ImageCache::Hold::~Hold() { Release(); }

void ImageCache::Hold::Release() {
  if (fd_ < 0) return;
  Touch(entry_);  // the entry's age counts from the end of its last use
  ::close(fd_);   // releases the shared lock
  fd_ = -1;
}

ImageCache::ImageCache(std::string dir, ImageCacheLimits limits)
    : dir_(std::move(dir)), limits_(limits) {}

Result<std::string> ImageCache::Entry(const std::string& key,
                                      const std::function<Status(const std::string& dir)>& fill,
                                      bool* hit) {
  if (!ValidKey(key)) return InvalidArgument("image cache: `" + key + "` is not a valid key");
  fs::path entry = fs::path(dir_) / key;
  std::shared_ptr<std::mutex> entry_lock = EntryLock(entry.string());
  std::lock_guard<std::mutex> lock(*entry_lock);
  std::error_code ec;
  if (fs::is_directory(entry, ec)) {
    *hit = true;
    Touch(entry);  // a use: collection goes by the time since the last one
    return entry.string();
  }
  *hit = false;
  fs::path tmp = fs::path(dir_) / Unique(".fill-" + key);
  fs::create_directories(tmp, ec);
  if (ec) return IoError("image cache: cannot make " + tmp.string() + ": " + ec.message());
  Status filled = fill(tmp.string());
  if (filled.ok()) {
    std::ofstream(tmp / kSize) << DiskUsage(tmp) << "\n";
    fs::rename(tmp, entry, ec);
    if (ec)
      filled = IoError("image cache: cannot move " + tmp.string() + " into place: " + ec.message());
  }
  if (!filled.ok()) {
    fs::remove_all(tmp, ec);
    return filled;
  }
  return entry.string();
}

Result<ImageCache::Hold> ImageCache::HoldPath(const std::string& path) {
  std::error_code ec;
  fs::path root = fs::canonical(dir_, ec);
  if (ec) return Hold();  // no cache yet: nothing to hold
  fs::path target = fs::canonical(path, ec);
  if (ec) return Hold();
  auto [r, t] = std::mismatch(root.begin(), root.end(), target.begin(), target.end());
  if (r != root.end() || t == target.end()) return Hold();
  std::string key = t->string();
  if (!ValidKey(key)) return Hold();
  fs::path entry = root / key;
  int fd = ::open((entry / kInUse).c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
  struct stat held {
  }, now{};
  if (fd >= 0 && ::flock(fd, LOCK_SH) == 0 && ::fstat(fd, &held) == 0 &&
      ::stat((entry / kInUse).c_str(), &now) == 0 && held.st_ino == now.st_ino) {
    Hold hold(fd, entry.string());
    Touch(entry);
    return hold;
  }
  if (fd >= 0) ::close(fd);
  return Unavailable("image cache: the image at " + entry.string() +
                     " was collected while this step was about to use it; run the step again");
}

Result<ImageCacheCollection> ImageCache::Collect() {
  struct Candidate {
    fs::path entry;
    fs::file_time_type used;
    uint64_t size;
  };
  std::vector<Candidate> entries;
  std::error_code ec;
  ImageCacheCollection out;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(".trash-", 0) == 0) fs::remove_all(it->path(), ec);  // a crash's leftover
    if (!ValidKey(name) || !it->is_directory()) continue;
    std::error_code mtime_ec;
    auto used = fs::last_write_time(it->path(), mtime_ec);
    if (mtime_ec) continue;
    entries.push_back({it->path(), used, EntrySize(it->path())});
  }
  std::sort(entries.begin(), entries.end(),
            [](const Candidate& a, const Candidate& b) { return a.used < b.used; });
  uint64_t total = 0;
  for (const auto& e : entries) total += e.size;
  auto now = fs::file_time_type::clock::now();
  for (const auto& e : entries) {
    bool too_old = limits_.max_age.count() > 0 && now - e.used > limits_.max_age;
    bool too_much = limits_.max_bytes > 0 && total > limits_.max_bytes;
    if (!too_old && !too_much) break;  // the rest were used later, and the total only drops
    if (RemoveIfUnused(e.entry.string())) {
      out.removed.push_back(e.entry.filename().string());
      out.freed_bytes += e.size;
      total -= e.size;
    }
  }
  out.kept_bytes = total;
  return out;
}

// Removes `entry` unless a Hold has it or it was used within min_idle: the entry is renamed
// away under its exclusive flock (so a Hold arriving meanwhile sees it gone), then deleted.
bool ImageCache::RemoveIfUnused(const std::string& entry_path) {
  fs::path entry(entry_path);
  std::shared_ptr<std::mutex> entry_lock = EntryLock(entry.string());
  std::lock_guard<std::mutex> lock(*entry_lock);  // no Entry() hit meanwhile
  std::error_code ec;
  auto used = fs::last_write_time(entry, ec);
  if (ec || fs::file_time_type::clock::now() - used < limits_.min_idle) return false;
  int fd = ::open((entry / kInUse).c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool removed = false;
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    fs::path trash = entry.parent_path() / Unique(".trash-" + entry.filename().string());
    fs::rename(entry, trash, ec);
    removed = !ec;
    ::close(fd);
    if (removed) fs::remove_all(trash, ec);
  } else {
    ::close(fd);
  }
  return removed;
}

}  // namespace baton::workers
