#include "resources/registry_image/image_fetch.h"

#include <archive.h>
#include <archive_entry.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "resources/registry_image/layer_unpack.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

std::string Megabytes(size_t bytes) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

std::string Short(const std::string& digest) { return digest.substr(0, 19); }

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

// One file entry of a tar being written.
Status AddFile(archive* a, const std::string& name, std::string_view data,
               const std::string& what) {
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                             archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
  if (archive_write_header(a, e.get()) != ARCHIVE_OK ||
      archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size())) {
    const char* why = archive_error_string(a);
    return IoError(what + ": cannot write " + name + " into image.tar: " + (why ? why : "?"));
  }
  return Status::Ok();
}

// One file entry of a tar being written, copied from the file `from` in pieces.
Status AddFileFrom(archive* a, const std::string& name, const std::string& from, int64_t size,
                   const std::string& what) {
  std::unique_ptr<FILE, int (*)(FILE*)> in(fopen(from.c_str(), "rb"), &fclose);
  if (!in) return IoError(what + ": cannot read " + from + ": " + strerror(errno));
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                             archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  bool ok = archive_write_header(a, e.get()) == ARCHIVE_OK;
  std::vector<char> buf(1 << 20);
  size_t n;
  while (ok && (n = fread(buf.data(), 1, buf.size(), in.get())) > 0)
    ok = archive_write_data(a, buf.data(), n) == static_cast<la_ssize_t>(n);
  if (!ok) {
    const char* why = archive_error_string(a);
    return IoError(what + ": cannot write " + name + " into image.tar: " + (why ? why : "?"));
  }
  return Status::Ok();
}

std::string BlobPath(const std::string& digest) { return "blobs/sha256/" + digest.substr(7); }

// A scratch file for one blob beside `target` (on the same disk, not in a tmpfs /tmp), removed
// when it goes out of scope.
class BlobFile {
 public:
  BlobFile(const std::string& target, const std::string& digest)
      : path_((fs::path(target).parent_path() /
               (".baton-blob-" + digest.substr(7, 12) + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(++counter_)))
                  .string()) {
    std::error_code ec;
    fs::remove(path_, ec);  // a crashed pull's leftover
  }
  ~BlobFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  BlobFile(const BlobFile&) = delete;
  BlobFile& operator=(const BlobFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  static inline std::atomic<uint64_t> counter_{0};  // two pulls in one process never collide
  std::string path_;
};

}  // namespace

Result<ImageRunConfig> UnpackImage(RegistryClient& client, const ResolvedImage& image,
                                   const std::string& rootfs_dir, const ResourceContext& ctx,
                                   const std::string& what) {
  BATON_ASSIGN_OR_RETURN(
      std::string config_blob,
      client.GetBlob(image.config.digest, image.config.size,
                     "fetching the config " + Short(image.config.digest) + " from"));
  BATON_ASSIGN_OR_RETURN(ImageRunConfig config, ParseImageConfig(config_blob, what));
  std::error_code ec;
  fs::create_directories(rootfs_dir, ec);
  if (ec) return IoError(what + ": cannot make " + rootfs_dir + ": " + ec.message());
  RootfsUnpacker unpacker(rootfs_dir);
  for (size_t i = 0; i < image.layers.size(); ++i) {
    if (IsCancelled(ctx)) return Cancelled(what + ": cancelled while fetching layers");
    const BlobDescriptor& layer = image.layers[i];
    std::string name = "layer " + std::to_string(i + 1) + "/" +
                       std::to_string(image.layers.size()) + " (" + Short(layer.digest) + ")";
    BATON_ASSIGN_OR_RETURN(LayerCompression compression, LayerCompressionOf(layer, what));
    // Streamed to disk and verified first, so no unverified byte is ever unpacked.
    BlobFile blob(rootfs_dir, layer.digest);
    BATON_RETURN_IF_ERROR(client.FetchBlobToFile(layer.digest, layer.size, blob.path(),
                                                 "fetching " + name + " from"));
    LogLine(ctx, "fetched " + name + ", " + Megabytes(fs::file_size(blob.path(), ec)));
    BATON_RETURN_IF_ERROR(
        unpacker.ApplyFile(blob.path(), compression, what + ": unpacking " + name));
  }
  return config;
}

std::string RunConfigJson(const ImageRunConfig& config) {
  return Json{{"env", config.env}, {"user", config.user}}.dump(2) + "\n";
}

Status WriteOciTarball(RegistryClient& client, const ResolvedImage& image, const std::string& tag,
                       const std::string& path, const ResourceContext& ctx,
                       const std::string& what) {
  std::unique_ptr<archive, ArchiveWriteFree> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), path.c_str()) != ARCHIVE_OK) {
    return IoError(what + ": cannot create " + path + ": " + archive_error_string(a.get()));
  }
  BATON_RETURN_IF_ERROR(AddFile(a.get(), "oci-layout", R"({"imageLayoutVersion":"1.0.0"})", what));
  std::vector<BlobDescriptor> blobs = image.layers;
  blobs.insert(blobs.begin(), image.config);
  for (const auto& blob : blobs) {
    if (IsCancelled(ctx)) return Cancelled(what + ": cancelled while fetching blobs");
    BlobFile file(path, blob.digest);
    BATON_RETURN_IF_ERROR(client.FetchBlobToFile(
        blob.digest, blob.size, file.path(), "fetching the blob " + Short(blob.digest) + " from"));
    std::error_code ec;
    int64_t size = static_cast<int64_t>(fs::file_size(file.path(), ec));
    BATON_RETURN_IF_ERROR(AddFileFrom(a.get(), BlobPath(blob.digest), file.path(), size, what));
  }
  BATON_RETURN_IF_ERROR(AddFile(a.get(), BlobPath(image.manifest_digest), image.manifest, what));
  Json index = {{"schemaVersion", 2},
                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                {"manifests",
                 {{{"mediaType", image.manifest_media_type},
                   {"digest", image.manifest_digest},
                   {"size", image.manifest.size()},
                   {"annotations", {{"org.opencontainers.image.ref.name", tag}}}}}}};
  BATON_RETURN_IF_ERROR(AddFile(a.get(), "index.json", index.dump(), what));
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return IoError(what + ": cannot finish " + path + ": " + archive_error_string(a.get()));
  }
  return Status::Ok();
}

}  // namespace baton::workers::resources
