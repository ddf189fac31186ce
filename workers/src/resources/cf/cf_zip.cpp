#include "resources/cf/cf_zip.h"

#include "resources/cf/cf_ignore.h"

#include <sys/stat.h>
#include <zip.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

std::string ZipError(zip_t* archive) { return zip_error_strerror(zip_get_error(archive)); }

// Adds one entry; `archive` owns the source afterwards.
Status AddEntry(zip_t* archive, const fs::directory_entry& entry, const std::string& name) {
  struct stat st {};
  if (lstat(entry.path().c_str(), &st) != 0) return IoError("cannot stat " + entry.path().string());
  zip_int64_t index = -1;
  if (S_ISDIR(st.st_mode)) {
    index = zip_dir_add(archive, name.c_str(), ZIP_FL_ENC_UTF_8);
  } else {
    zip_source_t* src = nullptr;
    std::string link;
    if (S_ISLNK(st.st_mode)) {
      link = fs::read_symlink(entry.path()).string();
      src = zip_source_buffer(archive, strdup(link.c_str()), link.size(), /*freep=*/1);
    } else {
      src = zip_source_file(archive, entry.path().c_str(), 0, -1);
    }
    if (!src) return IoError("cannot read " + entry.path().string() + ": " + ZipError(archive));
    index = zip_file_add(archive, name.c_str(), src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (index < 0) zip_source_free(src);
  }
  if (index < 0) return IoError("cannot add " + name + " to the zip: " + ZipError(archive));
  zip_uint32_t attributes = static_cast<zip_uint32_t>(st.st_mode) << 16;
  if (zip_file_set_external_attributes(archive, index, 0, ZIP_OPSYS_UNIX, attributes) != 0) {
    return IoError("cannot set the mode of " + name + ": " + ZipError(archive));
  }
  return Status::Ok();
}

}  // namespace

Result<ZipSummary> CheckZipArchive(const std::string& path) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (!archive) {
    zip_error_t e;
    zip_error_init_with_code(&e, error);
    std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    return InvalidArgument("app path " + path + " is a file but not a zip archive (" + why +
                           "); cf push takes a directory or a .zip, .jar or .war archive");
  }
  ZipSummary summary;
  zip_int64_t count = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t st;
    if (zip_stat_index(archive, i, 0, &st) == 0 && (st.valid & ZIP_STAT_NAME) &&
        std::string_view(st.name).back() != '/') {
      ++summary.files;
      if (st.valid & ZIP_STAT_SIZE) summary.bytes += st.size;
    }
  }
  zip_discard(archive);
  if (summary.files == 0) return FailedPrecondition("app archive " + path + " has no files");
  return summary;
}

Result<ZipSummary> ZipAppDirectory(const std::string& dir, const std::string& zip_path) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound("app path " + dir + " is not a directory");
  BATON_ASSIGN_OR_RETURN(CfIgnore ignore, CfIgnore::Load(dir));
  int error = 0;
  zip_t* archive = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!archive)
    return IoError("cannot create " + zip_path + " (libzip error " + std::to_string(error) + ")");
  ZipSummary summary;
  auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    fs::path rel = it->path().lexically_relative(dir);
    bool is_dir = it->is_directory() && !it->is_symlink();
    if (ignore.Ignored(rel.generic_string(), is_dir)) {
      if (is_dir) it.disable_recursion_pending();
      ++summary.ignored;
      continue;
    }
    std::string name = rel.generic_string() + (is_dir ? "/" : "");
    Status st = AddEntry(archive, *it, name);
    if (!st.ok()) {
      zip_discard(archive);
      return st;
    }
    if (it->is_regular_file() && !it->is_symlink()) {
      ++summary.files;
      summary.bytes += it->file_size();
    }
  }
  if (ec) {
    zip_discard(archive);
    return IoError("cannot walk " + dir + ": " + ec.message());
  }
  if (summary.files == 0) {
    zip_discard(archive);
    return FailedPrecondition("app path " + dir + " has no files to push");
  }
  if (zip_close(archive) != 0) {
    std::string why = ZipError(archive);
    zip_discard(archive);
    return IoError("cannot write " + zip_path + ": " + why);
  }
  return summary;
}

}  // namespace baton::workers::resources
