// Zips an application directory the way `cf push` uploads bits: the directory's contents at the
// zip's root (no top folder), regular files with their Unix mode (so binaries stay executable),
// symlinks stored as links, and what `cf push` leaves out (cf_ignore.h: the CLI's defaults and
// the directory's .cfignore) left out.
#pragma once

#include <string>

#include "baton/common/status.h"

namespace baton::workers::resources {

struct ZipSummary {
  int files = 0;
  uint64_t bytes = 0;  // uncompressed
  int ignored = 0;     // paths left out (a left-out directory counts once)
};

// Checks that `path` is a readable zip archive (a .zip, .jar or .war pushed as it is) and
// counts its files.
Result<ZipSummary> CheckZipArchive(const std::string& path);

// Writes the zip of `dir` to `zip_path`.
Result<ZipSummary> ZipAppDirectory(const std::string& dir, const std::string& zip_path);

}  // namespace baton::workers::resources
