#include "resources/registry_image/docker_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "baton/common/json.h"
#include "baton/common/sha256.h"
#include "baton/common/strings.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

// What go-containerregistry's tarball package pushes a docker save tarball as (and what
// registry-image-resource's `out` therefore sends): Docker schema 2 with gzip layers.
constexpr const char* kManifestType = "application/vnd.docker.distribution.manifest.v2+json";
constexpr const char* kConfigType = "application/vnd.docker.container.image.v1+json";
constexpr const char* kLayerType = "application/vnd.docker.image.rootfs.diff.tar.gzip";
constexpr size_t kMaxLinkHops = 16;

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
using File = std::unique_ptr<FILE, int (*)(FILE*)>;

std::string ArchiveWhy(archive* a) {
  const char* why = archive_error_string(a);
  return why ? why : "unknown error";
}

// `path` relative to the tarball's root, without "." parts; "" when it leads outside.
std::string Normal(const fs::path& path) {
  if (path.is_absolute()) return "";
  std::string s = path.lexically_normal().string();
  if (s.empty() || s == "." || s == ".." || StartsWith(s, "../")) return "";
  return s;
}

// A sha256 and a size: what a blob descriptor needs.
struct Digested {
  std::string hex;
  uint64_t size = 0;
};

// Reads `file` in chunks, handing each to `chunk`; false from `chunk` stops with an error.
template <typename Chunk>
Status ReadChunks(const fs::path& file, const std::string& where, Chunk chunk) {
  File f(std::fopen(file.c_str(), "rb"), std::fclose);
  if (!f) return IoError(where + ": cannot read " + file.string());
  std::vector<char> buf(1 << 16);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) {
    BATON_RETURN_IF_ERROR(chunk(std::string_view(buf.data(), n)));
  }
  if (std::ferror(f.get())) return IoError(where + ": cannot read " + file.string());
  return Status::Ok();
}

Result<Digested> HashFile(const fs::path& file, const std::string& where) {
  Sha256 hash;
  Digested d;
  BATON_RETURN_IF_ERROR(ReadChunks(file, where, [&](std::string_view bytes) {
    hash.Update(bytes);
    d.size += bytes.size();
    return Status::Ok();
  }));
  d.hex = hash.FinishHex();
  return d;
}

// The sha256 of what the gzip file `file` decompresses to (a layer's diff id).
Result<std::string> HashGunzipped(const fs::path& file, const std::string& where) {
  std::unique_ptr<archive, ArchiveReadFree> a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* e = nullptr;
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 16) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &e) != ARCHIVE_OK) {
    return FailedPrecondition(where + ": cannot read it as gzip: " + ArchiveWhy(a.get()));
  }
  Sha256 hash;
  std::vector<char> buf(1 << 16);
  la_ssize_t n;
  while ((n = archive_read_data(a.get(), buf.data(), buf.size())) > 0) {
    hash.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  if (n < 0)
    return FailedPrecondition(where + ": its gzip stream is damaged: " + ArchiveWhy(a.get()));
  return hash.FinishHex();
}

// Writes what libarchive's gzip filter makes to a file, hashing it on the way.
struct GzipOut {
  explicit GzipOut(FILE* f) : file(f) {}
  FILE* file;
  Sha256 hash;
  uint64_t size = 0;
};

la_ssize_t WriteGzipOut(archive*, void* data, const void* buf, size_t n) {
  auto* out = static_cast<GzipOut*>(data);
  if (std::fwrite(buf, 1, n, out->file) != n) return -1;
  out->hash.Update(std::string_view(static_cast<const char*>(buf), n));
  out->size += n;
  return static_cast<la_ssize_t>(n);
}

// Gzip-compresses the plain tar `in` into `out`. Returns the digest of `in` (the diff id) in
// `diff_hex` and that of `out`. Level 1 as go-containerregistry (gzip.BestSpeed); no timestamp,
// so the same layer always gives the same blob and a second push uploads nothing.
Result<Digested> Gzip(const fs::path& in, const fs::path& out, std::string* diff_hex,
                      const std::string& where) {
  File f(std::fopen(out.c_str(), "wb"), std::fclose);
  if (!f) return IoError(where + ": cannot write " + out.string());
  GzipOut sink(f.get());
  std::unique_ptr<archive, ArchiveWriteFree> a(archive_write_new());
  archive* w = a.get();
  if (archive_write_add_filter_gzip(w) != ARCHIVE_OK ||
      archive_write_set_format_raw(w) != ARCHIVE_OK ||
      archive_write_set_filter_option(w, "gzip", "compression-level", "1") != ARCHIVE_OK ||
      archive_write_set_filter_option(w, "gzip", "timestamp", nullptr) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(w, 1) != ARCHIVE_OK ||
      archive_write_open(w, &sink, nullptr, WriteGzipOut, nullptr) != ARCHIVE_OK) {
    return Internal(where + ": cannot start gzip: " + ArchiveWhy(w));
  }
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                             archive_entry_free);
  archive_entry_set_pathname(e.get(), "layer.tar");
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(fs::file_size(in)));
  if (archive_write_header(w, e.get()) != ARCHIVE_OK)
    return Internal(where + ": cannot start gzip: " + ArchiveWhy(w));
  Sha256 diff;
  BATON_RETURN_IF_ERROR(ReadChunks(in, where, [&](std::string_view bytes) {
    diff.Update(bytes);
    if (archive_write_data(w, bytes.data(), bytes.size()) < 0)
      return IoError(where + ": cannot write " + out.string() + ": " + ArchiveWhy(w));
    return Status::Ok();
  }));
  if (archive_write_close(w) != ARCHIVE_OK)
    return IoError(where + ": cannot write " + out.string() + ": " + ArchiveWhy(w));
  *diff_hex = diff.FinishHex();
  return Digested{sink.hash.FinishHex(), sink.size};
}

// Builds the layout's blobs/sha256 and the manifest from a docker save tarball's files.
class Converter {
 public:
  Converter(const fs::path& saved, const TarballLinks& links, const fs::path& layout,
            const std::string& where)
      : saved_(saved), links_(links), blobs_(layout / "blobs" / "sha256"), where_(where) {}

  // The file `name` (as manifest.json writes it) leads to, following links.
  Result<fs::path> Find(const std::string& name, const std::string& what) const {
    std::string at = Normal(name);
    for (size_t hop = 0; !at.empty() && hop < kMaxLinkHops; ++hop) {
      auto link = links_.find(at);
      if (link == links_.end()) break;
      at = link->second;
    }
    if (at.empty() || links_.count(at) != 0) {
      return FailedPrecondition(where_ + ": manifest.json's " + what + " `" + name +
                                "` leads outside the tarball (or round a loop of links): the "
                                "tarball is malformed; save the image again");
    }
    fs::path file = saved_ / at;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
      return FailedPrecondition(where_ + ": manifest.json names the " + what + " `" + name +
                                "`, which is not in the tarball: it is incomplete; save the "
                                "image again");
    }
    return file;
  }

  Result<Json> Config(const std::string& name, Json* descriptor) {
    BATON_ASSIGN_OR_RETURN(fs::path file, Find(name, "Config"));
    BATON_ASSIGN_OR_RETURN(std::string bytes, ReadFile(file));
    Json config = Json::parse(bytes, nullptr, false);
    if (!config.is_object()) {
      return FailedPrecondition(where_ + ": the config `" + name + "` is not a JSON object");
    }
    std::string hex = Sha256Hex(bytes);
    BATON_RETURN_IF_ERROR(Store(file, hex));
    *descriptor = {{"mediaType", kConfigType}, {"size", bytes.size()}, {"digest", "sha256:" + hex}};
    return config;
  }

  // Layer `index` (0-based) of `count`, checked against `diff_id`.
  Result<Json> Layer(const std::string& name, size_t index, size_t count,
                     const std::string& diff_id) {
    std::string label =
        "layer " + std::to_string(index + 1) + "/" + std::to_string(count) + " `" + name + "`";
    BATON_ASSIGN_OR_RETURN(fs::path file, Find(name, "layer"));
    auto done = done_.find(file);
    if (done != done_.end()) return Checked(label, index, diff_id, done->second);
    BATON_ASSIGN_OR_RETURN(std::string magic, Magic(file));
    std::string diff_hex;
    Digested blob;
    if (magic == "\x1f\x8b") {  // gzip already: pushed as it is, bit for bit
      BATON_ASSIGN_OR_RETURN(diff_hex, HashGunzipped(file, where_ + ": " + label));
      BATON_ASSIGN_OR_RETURN(blob, HashFile(file, where_ + ": " + label));
      BATON_RETURN_IF_ERROR(Store(file, blob.hex));
    } else if (magic == "\x28\xb5") {
      return FailedPrecondition(where_ + ": " + label +
                                " is zstd-compressed; a docker save tarball's layers are plain "
                                "or gzip tars (push zstd layers in an OCI layout instead)");
    } else {
      fs::path tmp = blobs_ / (".layer-" + std::to_string(index));
      BATON_ASSIGN_OR_RETURN(blob, Gzip(file, tmp, &diff_hex, where_ + ": " + label));
      BATON_RETURN_IF_ERROR(Store(tmp, blob.hex));
      std::error_code ec;
      fs::remove(file, ec);  // the plain tar is not needed again
    }
    ConvertedLayer layer{
        "sha256:" + diff_hex,
        {{"mediaType", kLayerType}, {"size", blob.size}, {"digest", "sha256:" + blob.hex}}};
    done_[file] = layer;
    return Checked(label, index, diff_id, layer);
  }

  // Stores `bytes` as a blob; returns its descriptor.
  Result<Json> StoreBytes(const std::string& bytes, const std::string& media_type) {
    std::string hex = Sha256Hex(bytes);
    BATON_RETURN_IF_ERROR(WriteFile(blobs_ / hex, bytes));
    return Json{{"mediaType", media_type}, {"size", bytes.size()}, {"digest", "sha256:" + hex}};
  }

 private:
  struct ConvertedLayer {
    std::string diff_id;  // of its tar
    Json descriptor;      // of its blob
  };

  Result<Json> Checked(const std::string& label, size_t index, const std::string& diff_id,
                       const ConvertedLayer& layer) const {
    if (layer.diff_id != diff_id) {
      return FailedPrecondition(where_ + ": " + label + " does not match the config's " +
                                "rootfs.diff_ids[" + std::to_string(index) + "] " + diff_id +
                                " (its tar hashes to " + layer.diff_id +
                                "): the tarball is damaged; build it again");
    }
    return layer.descriptor;
  }

  Result<std::string> Magic(const fs::path& file) const {
    File f(std::fopen(file.c_str(), "rb"), std::fclose);
    if (!f) return IoError(where_ + ": cannot read " + file.string());
    char buf[2] = {0, 0};
    size_t n = std::fread(buf, 1, 2, f.get());
    return std::string(buf, n);
  }

  // Moves `file` to blobs/sha256/<hex> (the scratch copy is not needed again: a file named
  // twice is converted once, see done_).
  Status Store(const fs::path& file, const std::string& hex) {
    std::error_code ec;
    fs::path blob = blobs_ / hex;
    if (fs::exists(blob, ec)) return Status::Ok();
    fs::rename(file, blob, ec);
    if (ec) return IoError(where_ + ": cannot write " + blob.string() + ": " + ec.message());
    return Status::Ok();
  }

  fs::path saved_;
  const TarballLinks& links_;
  fs::path blobs_;
  std::string where_;
  std::map<fs::path, ConvertedLayer> done_;  // by the file a layer name leads to
};

// {Config, Layers} of manifest.json's one image.
Status ReadSavedManifest(const fs::path& saved, const std::string& where, std::string* config,
                         std::vector<std::string>* layers) {
  BATON_ASSIGN_OR_RETURN(std::string text, ReadFile(saved / "manifest.json"));
  Json images = Json::parse(text, nullptr, false);
  if (!images.is_array() || images.size() != 1) {
    std::string n = images.is_array() ? std::to_string(images.size()) : "no";
    return FailedPrecondition(where + ": its manifest.json names " + n +
                              " images; a put pushes exactly one (save one image per tarball)");
  }
  const Json& image = images[0];
  if (!image.is_object() || !image.contains("Config") || !image["Config"].is_string() ||
      !image.contains("Layers") || !image["Layers"].is_array()) {
    return FailedPrecondition(where +
                              ": its manifest.json is not a docker save manifest (an object "
                              "with Config and Layers)");
  }
  *config = image["Config"];
  for (const auto& layer : image["Layers"]) {
    if (!layer.is_string())
      return FailedPrecondition(where + ": its manifest.json's Layers holds a non-string");
    layers->push_back(layer);
  }
  return Status::Ok();
}

}  // namespace

void AddTarballLink(TarballLinks& links, const std::string& name, const std::string& target,
                    bool hard) {
  std::string from = Normal(name);
  if (from.empty()) return;
  links[from] = hard ? Normal(target) : Normal(fs::path(from).parent_path() / target);
}

Status DockerSaveToOciLayout(const std::string& saved, const TarballLinks& links,
                             const std::string& layout, const std::string& where) {
  std::string config_name;
  std::vector<std::string> layer_names;
  BATON_RETURN_IF_ERROR(ReadSavedManifest(saved, where, &config_name, &layer_names));
  std::error_code ec;
  fs::create_directories(fs::path(layout) / "blobs" / "sha256", ec);
  if (ec) return IoError(where + ": cannot make " + layout + "/blobs: " + ec.message());
  Converter convert(saved, links, layout, where);
  Json config_descriptor;
  BATON_ASSIGN_OR_RETURN(Json config, convert.Config(config_name, &config_descriptor));
  Json diff_ids = config.contains("rootfs") && config["rootfs"].is_object()
                      ? config["rootfs"].value("diff_ids", Json::array())
                      : Json::array();
  if (!diff_ids.is_array() || diff_ids.size() != layer_names.size()) {
    return FailedPrecondition(where + ": manifest.json names " +
                              std::to_string(layer_names.size()) +
                              " layers but the config's rootfs.diff_ids " +
                              std::to_string(diff_ids.is_array() ? diff_ids.size() : 0) +
                              ": the tarball is malformed; save the image again");
  }
  Json layers = Json::array();
  for (size_t i = 0; i < layer_names.size(); ++i) {
    std::string diff_id = diff_ids[i].is_string() ? diff_ids[i].get<std::string>() : "";
    BATON_ASSIGN_OR_RETURN(Json layer,
                           convert.Layer(layer_names[i], i, layer_names.size(), diff_id));
    layers.push_back(std::move(layer));
  }
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", kManifestType},
                   {"config", config_descriptor},
                   {"layers", layers}};
  BATON_ASSIGN_OR_RETURN(Json top, convert.StoreBytes(manifest.dump(), kManifestType));
  Json index = {{"schemaVersion", 2}, {"manifests", Json::array({top})}};
  BATON_RETURN_IF_ERROR(WriteFile(fs::path(layout) / "index.json", index.dump()));
  return WriteFile(fs::path(layout) / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
}

}  // namespace baton::workers::resources
