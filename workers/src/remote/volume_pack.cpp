// PackVolume: a directory as tar (pax) + zstd/gzip through libarchive, streamed to a sink.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "baton/workers/volume_stream.h"

namespace baton::workers {

namespace fs = std::filesystem;

namespace {

struct Writer {
  const VolumeSink& sink;
  Status error;
};

la_ssize_t WriteChunk(struct archive*, void* data, const void* buffer, size_t length) {
  auto* writer = static_cast<Writer*>(data);
  if (!writer->error.ok()) return -1;
  writer->error = writer->sink(std::string_view(static_cast<const char*>(buffer), length));
  return writer->error.ok() ? static_cast<la_ssize_t>(length) : -1;
}

using ArchivePtr = std::unique_ptr<struct archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<struct archive_entry, decltype(&archive_entry_free)>;

Status ArchiveError(struct archive* a, const Writer& writer, const std::string& what) {
  if (!writer.error.ok()) return writer.error;
  const char* message = archive_error_string(a);
  return IoError("cannot pack volume " + what + ": " + (message ? message : "unknown error"));
}

// Copies the file's bytes into the archive.
Status WriteData(struct archive* a, const Writer& writer, const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return IoError("cannot read " + file.string() + ": " + std::strerror(errno));
  std::vector<char> buffer(256 * 1024);
  Status status;
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = IoError("cannot read " + file.string() + ": " + std::strerror(errno));
    if (n <= 0) break;
    if (archive_write_data(a, buffer.data(), static_cast<size_t>(n)) != n) {
      status = ArchiveError(a, writer, file.string());
      break;
    }
  }
  ::close(fd);
  return status;
}

// One entry (a file, directory or link) at `path`, named `name` in the archive.
Status WriteEntry(struct archive* a, const Writer& writer, const fs::path& path,
                  const std::string& name) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return IoError("cannot stat " + path.string() + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
    return InvalidArgument("volume entry " + name +
                           " is a device, FIFO or socket; volumes carry only files, "
                           "directories and symbolic links: remove it from the step's output");
  }
  EntryPtr entry(archive_entry_new(), archive_entry_free);
  archive_entry_copy_pathname(entry.get(), name.c_str());
  st.st_mode &= ~static_cast<mode_t>(S_ISUID | S_ISGID);
  archive_entry_copy_stat(entry.get(), &st);
  archive_entry_set_uid(entry.get(), 0);  // owners are the unpacking worker's business
  archive_entry_set_gid(entry.get(), 0);
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    fs::path target = fs::read_symlink(path, ec);
    if (ec) return IoError("cannot read link " + path.string() + ": " + ec.message());
    archive_entry_copy_symlink(entry.get(), target.c_str());
  }
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK) return ArchiveError(a, writer, name);
  if (S_ISREG(st.st_mode)) return WriteData(a, writer, path);
  return Status::Ok();
}

Status WriteTree(struct archive* a, const Writer& writer, const fs::path& dir) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  if (ec) return IoError("cannot read volume " + dir.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return IoError("cannot read volume " + dir.string() + ": " + ec.message());
    std::string name = it->path().lexically_relative(dir).string();
    BATON_RETURN_IF_ERROR(WriteEntry(a, writer, it->path(), name));
  }
  if (ec) return IoError("cannot read volume " + dir.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

Status PackVolume(const fs::path& dir, const VolumeSink& sink, VolumeCompression compression) {
  ArchivePtr a(archive_write_new(), archive_write_free);
  Writer writer{sink, Status::Ok()};
  archive_write_set_format_pax_restricted(a.get());
  int filter = compression == VolumeCompression::kZstd ? archive_write_add_filter_zstd(a.get())
                                                       : archive_write_add_filter_gzip(a.get());
  if (filter != ARCHIVE_OK) return ArchiveError(a.get(), writer, dir.string());
  archive_write_set_bytes_per_block(a.get(), 64 * 1024);
  archive_write_set_bytes_in_last_block(a.get(), 1);  // no padding after the compressed frame
  if (archive_write_open(a.get(), &writer, nullptr, WriteChunk, nullptr) != ARCHIVE_OK) {
    return ArchiveError(a.get(), writer, dir.string());
  }
  Status status = WriteTree(a.get(), writer, dir);
  if (archive_write_close(a.get()) != ARCHIVE_OK && status.ok()) {
    status = ArchiveError(a.get(), writer, dir.string());
  }
  return status;
}

}  // namespace baton::workers
