#include "resources/git_spare.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "baton/common/sha256.h"
#include "resources/git_checkout_cache.h"
#include "resources/git_source.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

std::string SparesDir(const std::string& mirror_path) { return mirror_path + ".spares"; }

// Removes everything inside `dir`, keeping `dir` itself (the step's directory).
void EmptyDirectory(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
}

bool IsEmptyDirectory(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::directory_iterator(dir, ec) == fs::directory_iterator();
}

// Renames the children of `from` into `to`; false (with `to` emptied) on the first failure,
// e.g. EXDEV when the step's directory is on another filesystem than the worker's cache.
bool RenameChildren(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  std::vector<fs::path> children;
  for (const auto& e : fs::directory_iterator(from, ec)) children.push_back(e.path());
  if (ec) return false;
  for (const fs::path& child : children) {
    fs::rename(child, to / child.filename(), ec);
    if (ec) {
      EmptyDirectory(to);
      return false;
    }
  }
  return true;
}

// The gets under way per mirror path: tickets in the order they began, and when the last ended.
struct GetsOfMirror {
  uint64_t next = 0;
  std::set<uint64_t> open;
  std::chrono::steady_clock::time_point last_end;
};

struct GetRegistry {
  std::mutex mu;
  std::condition_variable ended;
  std::map<std::string, GetsOfMirror> mirrors;
};

GetRegistry& Gets() {
  static GetRegistry* registry = new GetRegistry;  // never destroyed: gets may outlive main
  return *registry;
}

}  // namespace

GetInFlight::GetInFlight(const std::string& mirror_path) : mirror_path_(mirror_path) {
  GetRegistry& r = Gets();
  std::lock_guard<std::mutex> lock(r.mu);
  GetsOfMirror& gets = r.mirrors[mirror_path_];
  ticket_ = gets.next++;
  gets.open.insert(ticket_);
}

GetInFlight::~GetInFlight() {
  GetRegistry& r = Gets();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    GetsOfMirror& gets = r.mirrors[mirror_path_];
    gets.open.erase(ticket_);
    gets.last_end = std::chrono::steady_clock::now();
  }
  r.ended.notify_all();
}

void WaitForGetsInFlight(const std::string& mirror_path) {
  GetRegistry& r = Gets();
  std::unique_lock<std::mutex> lock(r.mu);
  GetsOfMirror& gets = r.mirrors[mirror_path];
  const uint64_t begun = gets.next;
  for (;;) {
    r.ended.wait(lock, [&] { return gets.open.empty() || *gets.open.begin() >= begun; });
    const auto quiet_from = gets.last_end + kSpareAfterLastGet;
    if (std::chrono::steady_clock::now() >= quiet_from) return;
    lock.unlock();
    std::this_thread::sleep_until(quiet_from);
    lock.lock();
  }
}

size_t GetsInFlight(const std::string& mirror_path) {
  GetRegistry& r = Gets();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.mirrors[mirror_path].open.size();
}

std::string SparePath(const std::string& mirror_path, const std::string& branch,
                      const std::string& variant) {
  std::string name = branch.empty() ? "detached" : Sha256Hex(branch).substr(0, 12);
  if (!variant.empty()) name += "+" + Sha256Hex(variant).substr(0, 12);
  return SparesDir(mirror_path) + "/" + name;
}

void WantSpares(const std::string& mirror_path) {
  std::error_code ec;
  fs::create_directories(SparesDir(mirror_path), ec);
}

bool SparesWanted(const std::string& mirror_path) {
  std::error_code ec;
  return fs::is_directory(SparesDir(mirror_path), ec);
}

Status KeepSpare(const std::string& spare,
                 const std::function<Status(const std::string&)>& checkout) {
  std::error_code ec;
  if (fs::is_directory(spare, ec)) return Status::Ok();
  // Its own lock, not the mirror's: a get that takes the mirror's lock meanwhile does not wait
  // for the clone (TakeSpare sees no spare, or a whole one: PrepareDirectoryWhole renames last).
  MirrorLock lock(spare);
  if (fs::is_directory(spare, ec)) return Status::Ok();  // made while this call waited
  return PrepareDirectoryWhole(spare, checkout);
}

bool TakeSpare(const std::string& spare, const std::string& mirror_path, const std::string& sha,
               const GitCheckoutOptions& options, const std::string& dir) {
  std::error_code ec;
  if (!IsEmptyDirectory(dir)) return false;
  // A check making the spare now (a push that came right after the one before): what is left of
  // its clone is less than a whole clone of our own beside it, so wait for it.
  MirrorLock lock(spare);
  if (!fs::is_directory(spare, ec)) return false;
  // Claimed by one rename: once taken, a spare is never used again, and a check that makes the
  // next one meanwhile never has its spare emptied by this get.
  const std::string taken = spare + ".taken";
  fs::remove_all(taken, ec);  // left by a crash
  fs::rename(spare, taken, ec);
  if (ec) return false;
  bool moved = RenameChildren(taken, dir);
  fs::remove_all(taken, ec);
  if (!moved) return false;
  if (!MoveCheckout(mirror_path, dir, sha, options).ok()) {
    EmptyDirectory(dir);
    return false;
  }
  return true;
}

}  // namespace baton::workers::resources
