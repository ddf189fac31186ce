#include "resources/registry_image/image_fetch.h"

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <memory>

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

std::string BlobPath(const std::string& digest) { return "blobs/sha256/" + digest.substr(7); }

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
    BATON_ASSIGN_OR_RETURN(std::string blob,
                           client.GetBlob(layer.digest, layer.size, "fetching " + name + " from"));
    LogLine(ctx, "fetched " + name + ", " + Megabytes(blob.size()));
    BATON_RETURN_IF_ERROR(unpacker.Apply(blob, compression, what + ": unpacking " + name));
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
    BATON_ASSIGN_OR_RETURN(std::string bytes,
                           client.GetBlob(blob.digest, blob.size,
                                          "fetching the blob " + Short(blob.digest) + " from"));
    BATON_RETURN_IF_ERROR(AddFile(a.get(), BlobPath(blob.digest), bytes, what));
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
