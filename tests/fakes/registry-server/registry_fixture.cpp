#include "registry-server/registry_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "baton/common/sha256.h"
#include "fakes/git_fixture.h"
#include "registry-server/token_issuer.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

bool CanConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

std::string RunCommand(const std::vector<std::string>& argv, const fs::path& cwd) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<char*> args;  // before the fork: the child must not allocate
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    if (::chdir(cwd.c_str()) != 0) _exit(127);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(fds[1]);
  std::string out;
  std::array<char, 4096> buf;
  ssize_t n;
  while ((n = ::read(fds[0], buf.data(), buf.size())) > 0) out.append(buf.data(), n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("`" + Joined(argv) + "` failed: " + out);
  }
  return out;
}

std::string SkopeoDigest(const RegistryServer& registry, const std::string& reference) {
  std::vector<std::string> argv = {"skopeo", "inspect", "--raw", "--tls-verify=false"};
  auto [user, password] = registry.credentials();
  if (!user.empty()) argv.push_back("--creds=" + user + ":" + password);
  argv.push_back("docker://" + registry.host() + "/" + reference);
  return "sha256:" + Sha256Hex(RunCommand(argv, "/"));
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

RegistryServer::RegistryServer(const fs::path& dir, RegistryServerOptions options)
    : dir_(dir), options_(std::move(options)), port_(FreeLocalPort()), log_(dir / "registry.log") {
  if (!fs::exists("/usr/bin/docker-registry")) {
    throw std::runtime_error(
        "/usr/bin/docker-registry is missing: run .ci/install-deps.sh (docker-registry)");
  }
  fs::create_directories(dir_ / "data");
  std::ofstream config(dir_ / "config.yml");
  config << "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n"
         << "storage:\n  filesystem:\n    rootdirectory: " << (dir_ / "data").string()
         << "\n  delete:\n    enabled: true\n"
         << "http:\n  addr: 127.0.0.1:" << port_ << "\n";
  if (options_.tls) {
    MakeCertificate();
    config << "  tls:\n    certificate: " << (dir_ / "cert.pem").string()
           << "\n    key: " << (dir_ / "key.pem").string() << "\n";
  }
  if (options_.token_issuer != nullptr) {
    const TokenIssuer& issuer = *options_.token_issuer;
    config << "auth:\n  token:\n    realm: " << issuer.realm()
           << "\n    service: " << issuer.options().service
           << "\n    issuer: " << issuer.options().issuer
           << "\n    rootcertbundle: " << issuer.cert_path().string() << "\n";
  } else if (!options_.username.empty()) {
    MakeHtpasswd();
    config << "auth:\n  htpasswd:\n    realm: baton-test-realm\n    path: "
           << (dir_ / "htpasswd").string() << "\n";
  }
  config.close();
  // Made before the fork: the child of a process with other threads (the token issuer's) must
  // not allocate, since another thread may have held the allocator's lock at the fork (it would
  // hang there, never executing the registry).
  const std::string cfg = (dir_ / "config.yml").string();
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::setpgid(0, 0);
    ::execl("/usr/bin/docker-registry", "docker-registry", "serve", cfg.c_str(), nullptr);
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!CanConnect(port_)) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("docker-registry exited early: " + Slurp(log_));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("docker-registry did not listen on port " + std::to_string(port_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a deadline
  }
}

RegistryServer::~RegistryServer() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
}

std::pair<std::string, std::string> RegistryServer::credentials() const {
  if (options_.token_issuer != nullptr) {
    const auto& o = options_.token_issuer->options();
    return {o.username, o.password};
  }
  return {options_.username, options_.password};
}

std::string RegistryServer::host() const { return "127.0.0.1:" + std::to_string(port_); }

void RegistryServer::MakeCertificate() {
  RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
              "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
              (dir_ / "key.pem").string(), "-out", (dir_ / "cert.pem").string()},
             dir_);
  ca_pem_ = Slurp(dir_ / "cert.pem");
  fs::create_directories(dir_ / "certs.d");
  fs::copy_file(dir_ / "cert.pem", dir_ / "certs.d" / "ca.crt",
                fs::copy_options::overwrite_existing);
}

void RegistryServer::MakeHtpasswd() {
  // The registry accepts bcrypt entries only.
  std::string line = RunCommand({"htpasswd", "-Bbn", options_.username, options_.password}, dir_);
  std::ofstream(dir_ / "htpasswd") << line;
}

ImageLayout::ImageLayout(const fs::path& dir) : dir_(dir), layout_(dir / "oci") {
  fs::create_directories(dir_);
  RunCommand({"umoci", "init", "--layout", layout_.string()}, dir_);
}

void ImageLayout::NewBusyboxImage(const std::string& tag) {
  if (!fs::exists("/bin/busybox")) {
    throw std::runtime_error("/bin/busybox is missing: run .ci/install-deps.sh (busybox-static)");
  }
  RunCommand({"umoci", "new", "--image", layout_.string() + ":" + tag}, dir_);
  AddLayer(tag,
           {{"bin/busybox", Slurp("/bin/busybox")},
            {"bin/sh", "->busybox"},
            {"etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"},
            {"tmp/", ""}});
}

fs::path ImageLayout::LayerTar(const LayerFiles& files, const LayerMeta& meta) {
  fs::path root = dir_ / ("layer" + std::to_string(++layers_));
  fs::create_directories(root);
  for (const auto& [rel, content] : files) {
    fs::path p = root / rel;
    if (!rel.empty() && rel.back() == '/') {
      fs::create_directories(p);
      continue;
    }
    fs::create_directories(p.parent_path());
    if (content.rfind("->", 0) == 0) {
      fs::create_symlink(content.substr(2), p);
    } else if (content.rfind("=>", 0) == 0) {
      fs::create_hard_link(root / content.substr(2), p);
    } else {
      std::ofstream(p, std::ios::binary) << content;
      if (rel.rfind("bin/", 0) == 0) fs::permissions(p, fs::perms(0755));
    }
  }
  for (const auto& [rel, m] : meta) {
    fs::path p = root / rel;
    if (!m.owner.empty()) RunCommand({"chown", "-h", m.owner, p.string()}, dir_);
    if (m.mode >= 0) fs::permissions(p, fs::perms(m.mode));
  }
  // Exactly the entries named, in the map's order (no parent directories added), so a layer can
  // write through a directory or symlink that a lower layer made.
  fs::path tar = root.string() + ".tar";
  std::vector<std::string> argv = {"tar", "--no-recursion", "--numeric-owner", "-C", root.string(),
                                   "-cf", tar.string()};
  for (const auto& entry : files) argv.push_back(entry.first);
  RunCommand(argv, dir_);
  return tar;
}

void ImageLayout::AddLayer(const std::string& tag, const LayerFiles& files, const LayerMeta& meta) {
  fs::path tar = LayerTar(files, meta);
  RunCommand({"umoci", "raw", "add-layer", "--image", layout_.string() + ":" + tag, tar.string()},
             dir_);
}

std::string ImageLayout::WriteBlob(const std::string& bytes) {
  fs::path tmp = dir_ / "blob.tmp";
  std::ofstream(tmp, std::ios::binary) << bytes;
  std::string hex = RunCommand({"sha256sum", tmp.string()}, dir_).substr(0, 64);
  fs::rename(tmp, layout_ / "blobs" / "sha256" / hex);
  return "sha256:" + hex;
}

std::string ImageLayout::ReadBlob(const std::string& digest) const {
  return Slurp(layout_ / "blobs" / "sha256" / digest.substr(7));
}

void ImageLayout::AddZstdLayer(const std::string& tag, const LayerFiles& files) {
  AddCompressedLayer(tag, files, {"zstd", "-q", "-c"},
                     "application/vnd.oci.image.layer.v1.tar+zstd");
}

void ImageLayout::AddCompressedLayer(const std::string& tag, const LayerFiles& files,
                                     std::vector<std::string> compressor,
                                     const std::string& media_type) {
  fs::path tar = LayerTar(files, {});
  compressor.push_back(tar.string());
  std::string compressed = RunCommand(compressor, dir_);
  std::string diff_id = "sha256:" + RunCommand({"sha256sum", tar.string()}, dir_).substr(0, 64);
  nlohmann::json index = nlohmann::json::parse(Slurp(layout_ / "index.json"));
  for (auto& d : index["manifests"]) {
    if (d["annotations"]["org.opencontainers.image.ref.name"] != tag) continue;
    nlohmann::json manifest = nlohmann::json::parse(ReadBlob(d["digest"]));
    nlohmann::json config = nlohmann::json::parse(ReadBlob(manifest["config"]["digest"]));
    config["rootfs"]["diff_ids"].push_back(diff_id);
    std::string config_bytes = config.dump();
    manifest["config"]["digest"] = WriteBlob(config_bytes);
    manifest["config"]["size"] = config_bytes.size();
    manifest["layers"].push_back({{"mediaType", media_type},
                                  {"digest", WriteBlob(compressed)},
                                  {"size", compressed.size()}});
    std::string manifest_bytes = manifest.dump();
    d["digest"] = WriteBlob(manifest_bytes);
    d["size"] = manifest_bytes.size();
  }
  std::ofstream(layout_ / "index.json") << index.dump();
}

void ImageLayout::MakeIndex(const std::string& tag,
                            const std::map<std::string, std::string>& platforms) {
  nlohmann::json layout_index = nlohmann::json::parse(Slurp(layout_ / "index.json"));
  nlohmann::json image_index = {{"schemaVersion", 2},
                                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                                {"manifests", nlohmann::json::array()}};
  for (const auto& [platform, image_tag] : platforms) {
    for (const auto& d : layout_index["manifests"]) {
      if (d["annotations"]["org.opencontainers.image.ref.name"] != image_tag) continue;
      size_t slash = platform.find('/');
      image_index["manifests"].push_back(
          {{"mediaType", d["mediaType"]},
           {"digest", d["digest"]},
           {"size", d["size"]},
           {"platform",
            {{"os", platform.substr(0, slash)}, {"architecture", platform.substr(slash + 1)}}}});
    }
  }
  std::string bytes = image_index.dump();
  layout_index["manifests"].push_back(
      {{"mediaType", "application/vnd.oci.image.index.v1+json"},
       {"digest", WriteBlob(bytes)},
       {"size", bytes.size()},
       {"annotations", {{"org.opencontainers.image.ref.name", tag}}}});
  std::ofstream(layout_ / "index.json") << layout_index.dump();
}

void ImageLayout::Configure(const std::string& tag, const std::vector<std::string>& env,
                            const std::string& user) {
  std::vector<std::string> argv = {"umoci", "config", "--image", layout_.string() + ":" + tag};
  for (const auto& e : env) argv.push_back("--config.env=" + e);
  if (!user.empty()) argv.push_back("--config.user=" + user);
  RunCommand(argv, dir_);
}

void ImageLayout::SetCreated(const std::string& tag, const std::string& created) {
  RunCommand({"umoci", "config", "--image", layout_.string() + ":" + tag, "--created=" + created},
             dir_);
}

void ImageLayout::Push(const std::string& tag, const RegistryServer& registry,
                       const std::string& repository, const std::string& remote_tag) {
  std::vector<std::string> argv = {"skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false"};
  auto [user, password] = registry.credentials();
  if (!user.empty()) argv.push_back("--dest-creds=" + user + ":" + password);
  argv.push_back("oci:" + layout_.string() + ":" + tag);
  argv.push_back("docker://" + registry.host() + "/" + repository + ":" + remote_tag);
  RunCommand(argv, dir_);
}

void ImageLayout::ExportTarball(const std::string& tag, const fs::path& tarball) {
  fs::create_directories(tarball.parent_path());
  RunCommand({"skopeo", "copy", "--quiet", "--all", "oci:" + layout_.string() + ":" + tag,
              "oci-archive:" + tarball.string()},
             dir_);
}

void ImageLayout::ExportDockerArchive(const std::string& tag, const fs::path& tarball,
                                      const std::string& reference) {
  fs::create_directories(tarball.parent_path());
  RunCommand({"skopeo", "copy", "--quiet", "oci:" + layout_.string() + ":" + tag,
              "docker-archive:" + tarball.string() + ":" + reference},
             dir_);
}

std::map<std::string, std::string> OciBlobs(const fs::path& tarball, const fs::path& scratch) {
  fs::create_directories(scratch);
  RunCommand({"tar", "-xf", tarball.string(), "-C", scratch.string()}, scratch);
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(scratch / "blobs" / "sha256"))
    out[e.path().filename().string()] = Slurp(e.path());
  return out;
}

}  // namespace baton::testing
