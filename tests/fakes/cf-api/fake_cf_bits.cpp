// The stand-in's checks of uploaded bits: multipart parsing and unzipping with layout checks.
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "cf-api/fake_cf_state.h"

namespace baton::testing::fakecf {
namespace {

namespace fs = std::filesystem;

std::string BoundaryOf(const std::string& content_type) {
  size_t at = content_type.find("boundary=");
  if (at == std::string::npos) return "";
  std::string b = content_type.substr(at + 9);
  if (size_t semi = b.find(';'); semi != std::string::npos) b.resize(semi);
  if (b.size() >= 2 && b.front() == '"') b = b.substr(1, b.size() - 2);
  return b;
}

bool SafeName(const std::string& name) {
  if (name.empty() || name[0] == '/') return false;
  for (const auto& part : fs::path(name)) {
    if (part == "..") return false;
  }
  return true;
}

// Everything under a single top-level directory (what `zip -r app.zip app/` makes).
std::string SingleTopFolder(const std::vector<std::string>& names) {
  std::set<std::string> tops;
  bool file_at_root = false;
  for (const auto& n : names) {
    size_t slash = n.find('/');
    if (slash == std::string::npos) file_at_root = true;
    tops.insert(n.substr(0, slash));
  }
  return (!file_at_root && tops.size() == 1) ? *tops.begin() : "";
}

Status ExtractEntry(zip_t* z, zip_uint64_t i, const std::string& name, const fs::path& dir) {
  zip_uint8_t opsys = 0;
  zip_uint32_t attributes = 0;
  zip_file_get_external_attributes(z, i, 0, &opsys, &attributes);
  mode_t mode = opsys == ZIP_OPSYS_UNIX ? (attributes >> 16) : 0;
  fs::path target = dir / name;
  std::error_code ec;
  if (name.back() == '/') {
    fs::create_directories(target, ec);
    return Status::Ok();
  }
  fs::create_directories(target.parent_path(), ec);
  zip_file_t* f = zip_fopen_index(z, i, 0);
  if (!f) return InvalidArgument("cannot read " + name + " from the zip");
  std::string data;
  char buf[65536];
  for (zip_int64_t n; (n = zip_fread(f, buf, sizeof buf)) > 0;) data.append(buf, n);
  zip_fclose(f);
  if (S_ISLNK(mode)) {
    fs::create_symlink(data, target, ec);
    return Status::Ok();
  }
  std::ofstream(target, std::ios::binary) << data;
  if (mode & 0777) chmod(target.c_str(), mode & 0777);
  return Status::Ok();
}

}  // namespace

Result<std::string> MultipartFile(const std::string& content_type, const std::string& body,
                                  const std::string& field) {
  if (content_type.rfind("multipart/form-data", 0) != 0) {
    return InvalidArgument("upload must be multipart/form-data, got '" + content_type + "'");
  }
  std::string boundary = BoundaryOf(content_type);
  if (boundary.empty()) return InvalidArgument("multipart/form-data without a boundary");
  std::string delim = "--" + boundary;
  std::string wanted = "name=\"" + field + "\"";
  for (size_t at = body.find(delim); at != std::string::npos;) {
    size_t head = at + delim.size() + 2;  // after CRLF
    size_t head_end = body.find("\r\n\r\n", head);
    size_t next = body.find("\r\n" + delim, head);
    if (head_end == std::string::npos || next == std::string::npos) break;
    if (body.substr(head, head_end - head).find(wanted) != std::string::npos) {
      return body.substr(head_end + 4, next - head_end - 4);
    }
    at = next + 2;
  }
  return InvalidArgument("the multipart body has no '" + field + "' part");
}

Status UnzipBits(const std::string& zip, const std::string& dir) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* src = zip_source_buffer_create(zip.data(), zip.size(), 0, &error);
  zip_t* z = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &error) : nullptr;
  if (!z) {
    if (src) zip_source_free(src);
    std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    return InvalidArgument("the bits are not a valid zip: " + why);
  }
  std::vector<std::string> names;
  zip_int64_t count = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < count; ++i) names.push_back(zip_get_name(z, i, 0));
  Status st = names.empty() ? InvalidArgument("the zip is empty") : Status::Ok();
  for (const auto& n : names) {
    if (st.ok() && !SafeName(n)) st = InvalidArgument("the zip holds an unsafe path '" + n + "'");
  }
  if (std::string top = SingleTopFolder(names); st.ok() && !top.empty()) {
    st = InvalidArgument("every file of the zip is under one top folder '" + top +
                         "/'; bits must hold the app directory's contents at the root");
  }
  for (zip_int64_t i = 0; st.ok() && i < count; ++i) st = ExtractEntry(z, i, names[i], dir);
  zip_discard(z);
  return st;
}

}  // namespace baton::testing::fakecf
