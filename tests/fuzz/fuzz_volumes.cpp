// libFuzzer target: arbitrary bytes as a volume stream (tar, plain or zstd/gzip-compressed), as a
// worker or a web node receives one from the other (docs/workers.md), unpacked with
// baton::workers::UnpackVolume into a fresh directory. Beside the memory errors the sanitizers
// catch, the target checks UnpackVolume's promises (volume_stream.h): nothing is written beside
// the volume (its parent keeps exactly the volume and a sentinel file, untouched and with one
// link), and the volume holds no device file, FIFO, socket or set-ID file and no symbolic link
// that is absolute or climbs out.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>

#include "baton/workers/volume_stream.h"

namespace {

namespace fs = std::filesystem;
constexpr std::string_view kSentinel = "outside the volume";

[[noreturn]] void Broken(const std::string& what) {
  std::fprintf(stderr, "fuzz_volumes: UnpackVolume broke its promise: %s\n", what.c_str());
  std::abort();
}

std::set<std::string> Entries(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

// A symbolic link stored at `at` (relative to the volume) whose target stays inside.
bool StaysInside(const fs::path& at, const fs::path& target) {
  if (target.is_absolute()) return false;
  int depth = 0;
  for (const auto& part : at.parent_path() / target) {
    if (part == "..") {
      if (--depth < 0) return false;
    } else if (part != "." && !part.empty()) {
      ++depth;
    }
  }
  return true;
}

void CheckVolume(const fs::path& volume) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(volume, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    fs::path rel = it->path().lexically_relative(volume);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) ||
        S_ISSOCK(st.st_mode)) {
      Broken("a device file, FIFO or socket at " + rel.string());
    }
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)) != 0) {
      Broken("a set-user/group-ID file at " + rel.string());
    }
    if (S_ISLNK(st.st_mode)) {
      fs::path target = fs::read_symlink(it->path(), ec);
      if (!ec && !StaysInside(rel, target)) {
        Broken("a symbolic link out of the volume at " + rel.string() + " -> " + target.string());
      }
      ec.clear();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // /dev/shm keeps the many small files of a fuzzing run off the disk.
  char tmpl[] = "/dev/shm/baton-fuzz-volumes-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  const fs::path base = tmpl;
  const fs::path volume = base / "volume";
  const fs::path sentinel = base / "sentinel";
  std::ofstream(sentinel) << kSentinel;

  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)baton::workers::UnpackVolume(input, volume);  // refusals are fine; escapes are not

  if (Entries(base) != std::set<std::string>{"sentinel", "volume"} &&
      Entries(base) != std::set<std::string>{"sentinel"}) {
    Broken("a new entry beside the volume");
  }
  struct stat st {};
  if (::lstat(sentinel.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) Broken("the sentinel changed");
  if (st.st_nlink != 1) Broken("a hard link to the sentinel");
  std::ifstream in(sentinel);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (content != kSentinel) Broken("the sentinel's content changed");
  if (fs::exists(volume)) CheckVolume(volume);

  std::error_code ec;
  fs::permissions(base, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(base, ec);
  return 0;
}
