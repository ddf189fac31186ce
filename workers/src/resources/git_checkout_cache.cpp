#include "resources/git_checkout_cache.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "baton/common/sha256.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

Status CopyEntry(const fs::directory_entry& entry, const fs::path& relative, const fs::path& to) {
  std::error_code ec;
  const fs::path target = to / relative;
  const fs::file_status status = entry.symlink_status(ec);
  if (fs::is_symlink(status)) {
    fs::copy_symlink(entry.path(), target, ec);
  } else if (fs::is_directory(status)) {
    fs::create_directory(target, ec);
  } else {
    // A copy, never a hard link: a task owns its files and must not reach the cache's inodes.
    fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing, ec);
  }
  if (ec)
    return IoError("copy " + entry.path().string() + " to " + target.string() + ": " +
                   ec.message());
  return Status::Ok();
}

void EvictOldCheckouts(const fs::path& root, const fs::path& keep) {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> checkouts;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    if (e.path() == keep || !e.is_directory(ec)) continue;
    checkouts.emplace_back(fs::last_write_time(e.path(), ec), e.path());
  }
  if (checkouts.size() + 1 <= kCheckoutsKept) return;
  std::sort(checkouts.begin(), checkouts.end());  // oldest first
  for (size_t i = 0; i + kCheckoutsKept < checkouts.size() + 1; ++i) {
    fs::remove_all(checkouts[i].second, ec);
  }
}

// The commits got once (GetThroughCheckoutCache), one name a line, newest last: one file
// rewritten in place, so that a push's first get creates no file and its eviction deletes none
// (on a filesystem where each new inode costs, docs/benchmarks.md "W5's webhook"). A write cut
// short by a crash forgets some names: their next get checks out straight again.
constexpr const char* kGotOnceFile = "got-once";

// The names recorded; nullopt when there is no record yet.
std::optional<std::vector<std::string>> ReadGotOnce(const fs::path& root) {
  std::ifstream in(root / kGotOnceFile);
  if (!in) return std::nullopt;
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

// Records `name` as got once beside `recorded` (nullopt: no record yet), keeping the newest
// kMarkersKept names.
void RememberGotOnce(const fs::path& root, std::optional<std::vector<std::string>> recorded,
                     const std::string& name) {
  std::error_code ec;
  if (!recorded) {
    // Markers an older Baton left, a file each.
    for (const auto& e : fs::directory_iterator(root, ec)) {
      if (e.path().extension() == ".seen") fs::remove(e.path(), ec);
    }
  }
  std::vector<std::string> names = recorded ? std::move(*recorded) : std::vector<std::string>();
  names.push_back(name);
  if (names.size() > kMarkersKept) names.erase(names.begin(), names.end() - kMarkersKept);
  std::string text;
  for (const std::string& n : names) text += n + "\n";
  (void)WriteFile(root / kGotOnceFile, text);  // unrecorded: the next get checks out straight
}

}  // namespace

std::string CheckoutCachePath(const std::string& mirror_path, const std::string& sha,
                              const std::string& branch, const std::string& variant) {
  std::string name = sha;
  if (!branch.empty()) name += "@" + Sha256Hex(branch).substr(0, 12);
  if (!variant.empty()) name += "+" + Sha256Hex(variant).substr(0, 12);
  return mirror_path + ".checkouts/" + name;
}

Status CopyCheckout(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return IoError("create " + to + ": " + ec.message());
  fs::recursive_directory_iterator it(from, ec), end;
  if (ec) return IoError("read checkout " + from + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return IoError("read checkout " + from + ": " + ec.message());
    BATON_RETURN_IF_ERROR(CopyEntry(*it, it->path().lexically_relative(from), to));
  }
  return Status::Ok();
}

Status PrepareDirectoryWhole(const std::string& path,
                             const std::function<Status(const std::string& dir)>& prepare) {
  std::error_code ec;
  const std::string tmp = path + ".tmp";
  fs::remove_all(tmp, ec);  // left by a crash
  fs::create_directories(tmp, ec);
  if (ec) return IoError("create " + tmp + ": " + ec.message());
  Status made = prepare(tmp);
  if (made.ok()) {
    fs::rename(tmp, path, ec);
    if (ec) made = IoError("rename " + tmp + ": " + ec.message());
  }
  if (!made.ok()) fs::remove_all(tmp, ec);
  return made;
}

Status GetThroughCheckoutCache(const std::string& cached, const std::string& dir,
                               const std::function<Status(const std::string& dir)>& prepare) {
  std::error_code ec;
  const fs::path path(cached);
  if (!fs::is_directory(path, ec)) {
    // The first get of a commit (a push's new commit) checks out straight into its directory:
    // the copy that a prepared checkout costs pays off only when the commit is got again (a
    // second job, a rerun), which the record of commits got once tells.
    const fs::path root = path.parent_path();
    std::optional<std::vector<std::string>> got_once = ReadGotOnce(root);
    const std::string name = path.filename().string();
    if (!got_once || std::find(got_once->begin(), got_once->end(), name) == got_once->end()) {
      fs::create_directories(root, ec);
      RememberGotOnce(root, std::move(got_once), name);
      fs::create_directories(dir, ec);
      if (ec) return IoError("create " + dir + ": " + ec.message());
      return prepare(dir);
    }
    BATON_RETURN_IF_ERROR(PrepareDirectoryWhole(cached, prepare));
    EvictOldCheckouts(path.parent_path(), path);
  } else {
    fs::last_write_time(path, fs::file_time_type::clock::now(), ec);  // recently used
  }
  return CopyCheckout(cached, dir);
}

}  // namespace baton::workers::resources
