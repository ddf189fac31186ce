#include "images/image_cache.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

namespace baton::workers {
namespace {

namespace fs = std::filesystem;

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

}  // namespace

ImageCache::ImageCache(std::string dir) : dir_(std::move(dir)) {}

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
    fs::last_write_time(entry, fs::file_time_type::clock::now(), ec);  // for collection by age
    return entry.string();
  }
  *hit = false;
  static std::atomic<uint64_t> counter{0};
  fs::path tmp = fs::path(dir_) / (".fill-" + key + "-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(counter++));
  fs::create_directories(tmp, ec);
  if (ec) return IoError("image cache: cannot make " + tmp.string() + ": " + ec.message());
  Status filled = fill(tmp.string());
  if (filled.ok()) {
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

}  // namespace baton::workers
