// Test helpers for the registry-image type: Debian's `docker-registry` (the CNCF distribution
// registry) on 127.0.0.1 in a temp dir, plain http or TLS (a certificate made here with
// OpenSSL) with htpasswd basic auth; and small OCI images built with umoci from busybox-static
// and pushed with skopeo. Not thread-safe (one test thread). Failures throw std::runtime_error
// naming the command and its output.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace baton::testing {

class TokenIssuer;  // token_issuer.h

struct RegistryServerOptions {
  bool tls = false;      // serve https with a self-signed certificate for 127.0.0.1
  std::string username;  // with a password: every request needs basic auth (htpasswd)
  std::string password;
  // `auth: token`: every request needs a token from this issuer, which the registry verifies
  // against the issuer's certificate (username/password are then the issuer's, for pushes).
  const TokenIssuer* token_issuer = nullptr;
};

// A running registry; stops it on destruction.
class RegistryServer {
 public:
  RegistryServer(const std::filesystem::path& dir, RegistryServerOptions options = {});
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // "127.0.0.1:<port>", the host part of a repository ("127.0.0.1:5000/team/app").
  std::string host() const;
  // The CA certificate (PEM) clients must trust; empty without TLS.
  const std::string& ca_pem() const { return ca_pem_; }
  const std::filesystem::path& log_path() const { return log_; }
  const RegistryServerOptions& options() const { return options_; }
  // The user and password that may push ("" when anyone may).
  std::pair<std::string, std::string> credentials() const;

 private:
  void MakeCertificate();
  void MakeHtpasswd();

  std::filesystem::path dir_;
  RegistryServerOptions options_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string ca_pem_;
  std::filesystem::path log_;
};

// The files of one layer: path -> content. A content starting with "->" makes a symbolic link
// to the rest; "=>" a hard link to the named path (of this layer); "/" as the last char of the
// path makes a directory. Whiteouts are plain entries named ".wh.<name>" / ".wh..wh..opq".
// The layer holds exactly these entries, in this order (parents are not added).
using LayerFiles = std::map<std::string, std::string>;

// Owner ("uid:gid") and mode of entries of a layer, by path.
struct EntryMeta {
  std::string owner;  // "" keeps root
  int mode = -1;      // -1 keeps what the file got
};
using LayerMeta = std::map<std::string, EntryMeta>;

// An OCI image layout under `dir` whose images are built layer by layer.
class ImageLayout {
 public:
  explicit ImageLayout(const std::filesystem::path& dir);

  // Starts image `tag` with one layer holding /bin/busybox (from busybox-static), /bin/sh and
  // /etc/passwd (root and a user `app` 1000:1000).
  void NewBusyboxImage(const std::string& tag);
  // Appends a layer made of `files` (tar'ed by GNU tar, gzip-compressed by umoci).
  void AddLayer(const std::string& tag, const LayerFiles& files, const LayerMeta& meta = {});
  // Appends a zstd-compressed layer (media type ...tar+zstd), editing manifest and config.
  void AddZstdLayer(const std::string& tag, const LayerFiles& files);
  // Appends a layer of `files` compressed by `compressor` (argv; the tar's path is appended and
  // the compressed bytes are read from its stdout) under `media_type`, which need not match.
  void AddCompressedLayer(const std::string& tag, const LayerFiles& files,
                          std::vector<std::string> compressor, const std::string& media_type);
  // Makes `tag` an image index of the images tagged `platforms` ("linux/arm64" -> tag).
  void MakeIndex(const std::string& tag, const std::map<std::string, std::string>& platforms);
  // Sets config.Env entries ("K=V") and config.User.
  void Configure(const std::string& tag, const std::vector<std::string>& env,
                 const std::string& user);
  // Sets the image's `created` time (RFC 3339).
  void SetCreated(const std::string& tag, const std::string& created);
  // Pushes `tag` (an image or an index with all its images) to `registry` as
  // "<repository>:<remote_tag>" with skopeo (credentials from the registry's options, or its
  // token issuer's).
  void Push(const std::string& tag, const RegistryServer& registry, const std::string& repository,
            const std::string& remote_tag);
  // Writes `tag` (an image, or an index with all its images) as an OCI image tarball (an OCI
  // layout whose index.json names just it), with skopeo's oci-archive transport.
  void ExportTarball(const std::string& tag, const std::filesystem::path& tarball);
  // Writes image `tag` as a `docker save` tarball with skopeo's docker-archive transport:
  // manifest.json, <config hex>.json, each layer as <diff id>.tar (plain) with the legacy
  // <id>/layer.tar a symbolic link to it, named `reference` ("team/app:latest").
  void ExportDockerArchive(const std::string& tag, const std::filesystem::path& tarball,
                           const std::string& reference);
  const std::filesystem::path& path() const { return layout_; }

 private:
  std::filesystem::path LayerTar(const LayerFiles& files, const LayerMeta& meta);
  // Stores `bytes` as a blob; returns its "sha256:<hex>".
  std::string WriteBlob(const std::string& bytes);
  std::string ReadBlob(const std::string& digest) const;

  std::filesystem::path dir_;
  std::filesystem::path layout_;
  int layers_ = 0;
};

// Runs `argv` (no shell) in `cwd`, returns its stdout+stderr; throws naming the command on a
// non-zero exit.
std::string RunCommand(const std::vector<std::string>& argv, const std::filesystem::path& cwd);

// The digest of `reference` ("team/app:tag") in `registry` as skopeo reads it: the sha256 of
// the raw manifest (with the registry's credentials when it has any).
std::string SkopeoDigest(const RegistryServer& registry, const std::string& reference);

// hex -> bytes of every blob of the OCI layout tarball `tarball`, unpacked into `scratch`.
std::map<std::string, std::string> OciBlobs(const std::filesystem::path& tarball,
                                            const std::filesystem::path& scratch);

// How many times `needle` occurs in `text` (a registry's access log, a build's log).
size_t Count(const std::string& text, const std::string& needle);

}  // namespace baton::testing
