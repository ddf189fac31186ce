#include "resources/registry_image/image_push.h"

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "baton/common/strings.h"
#include "resources/registry_image/docker_archive.h"
#include "resources/registry_image/image_manifest.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

std::string Megabytes(uintmax_t bytes) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

std::string Short(const std::string& digest) { return digest.substr(0, 19); }

// Copies the current entry's data to `out`, returning the sha256 hex of what was copied.
Result<std::string> CopyEntry(archive* a, const fs::path& out, const std::string& where) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(out.c_str(), "wb"), std::fclose);
  if (!f) return IoError(where + ": cannot write " + out.string());
  Sha256 hash;
  char buf[1 << 16];
  la_ssize_t n;
  while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
    hash.Update(std::string_view(buf, static_cast<size_t>(n)));
    if (std::fwrite(buf, 1, static_cast<size_t>(n), f.get()) != static_cast<size_t>(n))
      return IoError(where + ": cannot write " + out.string() + " (disk full?)");
  }
  if (n < 0) {
    const char* why = archive_error_string(a);
    return IoError(where + ": cannot read it: " + (why ? why : "unknown error"));
  }
  return hash.FinishHex();
}

// The parts of an OCI layout a push reads; anything else in the tarball is skipped.
bool IsLayoutEntry(const std::string& name) {
  return name == "index.json" || name == "oci-layout" ||
         (StartsWith(name, "blobs/sha256/") && IsSha256Digest("sha256:" + name.substr(13)));
}

// Where the entries of a tarball that are not an OCI layout's go, under the scratch layout.
constexpr const char* kDockerSaveDir = "docker-save";

// `name` under `saved`; empty when it climbs out with "..".
fs::path SavedPath(const fs::path& saved, const std::string& name) {
  fs::path rel = fs::path(name).lexically_normal();
  std::string s = rel.string();
  if (rel.is_absolute() || s.empty() || s == "." || s == ".." || StartsWith(s, "../")) return {};
  return saved / rel;
}

// Pushes blobs and manifests of one layout, each once.
class LayoutPusher {
 public:
  LayoutPusher(RegistryClient& client, const fs::path& layout, const ResourceContext& ctx,
               const std::string& what)
      : client_(client), layout_(layout), ctx_(ctx), what_(what) {}

  fs::path BlobPath(const std::string& digest) const {
    return layout_ / "blobs" / "sha256" / digest.substr(7);
  }

  Result<std::string> ReadManifest(const std::string& digest) {
    auto bytes = ReadFile(BlobPath(digest));
    if (!bytes.ok()) {
      return FailedPrecondition(what_ + ": the image names the manifest " + digest +
                                ", which is not in its blobs/: the layout is incomplete");
    }
    if ("sha256:" + Sha256Hex(*bytes) != digest) {
      return FailedPrecondition(what_ + ": the manifest " + digest +
                                " does not match its digest: the layout is damaged");
    }
    return bytes;
  }

  Status PushBlob(const BlobDescriptor& blob, const std::string& name) {
    if (!pushed_.insert(blob.digest).second) return Status::Ok();
    if (IsCancelled(ctx_)) return Cancelled(what_ + ": cancelled while pushing blobs");
    std::string label = name + " (" + Short(blob.digest) + ")";
    std::string stage = "pushing " + label + " to";
    BATON_ASSIGN_OR_RETURN(bool present, client_.HasBlob(blob.digest, stage));
    if (present) {
      LogLine(ctx_, label + " is in the registry already");
      return Status::Ok();
    }
    fs::path file = BlobPath(blob.digest);
    std::error_code ec;
    uintmax_t size = fs::file_size(file, ec);
    if (ec) {
      return FailedPrecondition(what_ + ": the image names " + label +
                                ", which is not in its blobs/: the layout is incomplete");
    }
    BATON_RETURN_IF_ERROR(client_.PushBlob(blob.digest, file.string(), stage));
    LogLine(ctx_, "uploaded " + label + ", " + Megabytes(size));
    return Status::Ok();
  }

  // An image manifest's config and layers, then (with `by_digest`) the manifest itself.
  Status PushImage(const BlobDescriptor& manifest, bool by_digest) {
    BATON_ASSIGN_OR_RETURN(std::string bytes, ReadManifest(manifest.digest));
    Json body = Json::parse(bytes, nullptr, false);
    std::string where = what_ + ": the manifest " + manifest.digest;
    if (!body.is_object() || !body.contains("layers") || !body["layers"].is_array())
      return FailedPrecondition(where + " is not an image manifest");
    BATON_ASSIGN_OR_RETURN(BlobDescriptor config,
                           ParseDescriptor(body.value("config", Json()), where + ": config"));
    BATON_RETURN_IF_ERROR(PushBlob(config, "config"));
    size_t n = body["layers"].size();
    for (size_t i = 0; i < n; ++i) {
      std::string name = "layer " + std::to_string(i + 1) + "/" + std::to_string(n);
      BATON_ASSIGN_OR_RETURN(BlobDescriptor layer,
                             ParseDescriptor(body["layers"][i], where + ": " + name));
      BATON_RETURN_IF_ERROR(PushBlob(layer, name));
    }
    if (!by_digest) return Status::Ok();
    std::string type = body.value("mediaType", manifest.media_type);
    return client_
        .PutManifest(manifest.digest, type, bytes,
                     "pushing the manifest " + Short(manifest.digest) + " to")
        .status();
  }

 private:
  RegistryClient& client_;
  fs::path layout_;
  const ResourceContext& ctx_;
  std::string what_;
  std::set<std::string> pushed_;
};

}  // namespace

Status ExtractOciLayout(const std::string& tarball, const std::string& into,
                        const std::string& as_written, const std::string& what) {
  std::string where = what + ": params.image `" + as_written + "`";
  std::unique_ptr<archive, ArchiveReadFree> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  // image.tar.gz and .tar.zst too, and nothing else: filter_all would also start external
  // programs (lrzip, lzop, grzip) from $PATH for a tarball a task made.
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  if (archive_read_open_filename(a.get(), tarball.c_str(), 1 << 16) != ARCHIVE_OK) {
    const char* why = archive_error_string(a.get());
    return FailedPrecondition(
        where + " (" + tarball +
        ") is not a tarball (plain, gzip or zstd): " + (why ? why : "unknown error"));
  }
  // One pass keeps both forms: an OCI layout's entries in place, anything else (a docker save
  // tarball's manifest.json, config and layers) under docker-save/ with the links among them.
  fs::path saved = fs::path(into) / kDockerSaveDir;
  TarballLinks links;
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    while (StartsWith(name, "./")) name = name.substr(2);
    if (const char* hard = archive_entry_hardlink(e)) {
      AddTarballLink(links, name, hard, /*hard=*/true);
      continue;
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
      const char* target = archive_entry_symlink(e);
      AddTarballLink(links, name, target ? target : "", /*hard=*/false);
      continue;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    bool layout_entry = IsLayoutEntry(name);
    fs::path out = layout_entry ? fs::path(into) / name : SavedPath(saved, name);
    if (out.empty()) continue;  // climbs out with "..": no docker save tarball has such names
    std::error_code ec;
    fs::create_directories(out.parent_path(), ec);
    BATON_ASSIGN_OR_RETURN(std::string hex, CopyEntry(a.get(), out, where + ": " + name));
    if (layout_entry && StartsWith(name, "blobs/") && hex != name.substr(13)) {
      return FailedPrecondition(where + ": " + name +
                                " does not match its digest (its bytes hash to sha256:" + hex +
                                "): the tarball is damaged; build it again");
    }
  }
  if (rc != ARCHIVE_EOF) {
    const char* why = archive_error_string(a.get());
    return FailedPrecondition(where +
                              " cannot be read as a tarball: " + (why ? why : "unknown error"));
  }
  if (fs::exists(fs::path(into) / "index.json")) return Status::Ok();  // Docker 25+ writes both
  if (fs::exists(saved / "manifest.json")) {
    BATON_RETURN_IF_ERROR(DockerSaveToOciLayout(saved.string(), links, into, where));
    std::error_code ec;
    fs::remove_all(saved, ec);
    return Status::Ok();
  }
  return FailedPrecondition(
      where +
      " is neither an OCI image tarball nor a docker save tarball: it has no index.json and no "
      "manifest.json (push the image.tar that oci-build-task, `docker save IMAGE` or `skopeo "
      "copy ... oci-archive:FILE` writes)");
}

Result<std::string> PushOciLayout(RegistryClient& client, const std::string& layout,
                                  const std::vector<std::string>& tags, const ResourceContext& ctx,
                                  const std::string& what) {
  BATON_ASSIGN_OR_RETURN(std::string index_text, ReadFile(fs::path(layout) / "index.json"));
  Json index = Json::parse(index_text, nullptr, false);
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array() ||
      index["manifests"].size() != 1) {
    size_t n = index.is_object() && index.contains("manifests") && index["manifests"].is_array()
                   ? index["manifests"].size()
                   : 0;
    return FailedPrecondition(what + ": the image's index.json names " + std::to_string(n) +
                              " images; a put pushes exactly one image (or one image index)");
  }
  BATON_ASSIGN_OR_RETURN(BlobDescriptor top,
                         ParseDescriptor(index["manifests"][0], what + ": index.json's image"));
  LayoutPusher pusher(client, layout, ctx, what);
  BATON_ASSIGN_OR_RETURN(std::string bytes, pusher.ReadManifest(top.digest));
  Json body = Json::parse(bytes, nullptr, false);
  std::string media_type = body.is_object() ? body.value("mediaType", top.media_type) : "";
  if (media_type.empty()) media_type = top.media_type;
  if (body.is_object() && IsImageIndex(media_type, body)) {
    for (const auto& m : body.value("manifests", Json::array())) {
      BATON_ASSIGN_OR_RETURN(BlobDescriptor child,
                             ParseDescriptor(m, what + ": a manifest of the index " + top.digest));
      BATON_RETURN_IF_ERROR(pusher.PushImage(child, /*by_digest=*/true));
    }
  } else {
    BATON_RETURN_IF_ERROR(pusher.PushImage(top, /*by_digest=*/false));
  }
  for (const auto& tag : tags) {
    BATON_ASSIGN_OR_RETURN(
        std::string digest,
        client.PutManifest(tag, media_type, bytes, "pushing the tag `" + tag + "` to"));
    LogLine(ctx, "pushed " + client.ImageName() + ":" + tag + " (" + digest + ")");
  }
  return top.digest;
}

}  // namespace baton::workers::resources
