// registry-image put of `docker save` tarballs against Debian's docker-registry on 127.0.0.1,
// as oci-build-task writes them and registry-image-resource's `out` pushes them. The tarballs
// are made in the test by skopeo's docker-archive transport (layers as <diff id>.tar, the
// legacy <id>/layer.tar a link to each), rewritten as `docker save` before Docker 25 writes
// them (real <id>/layer.tar files) and as crane writes them (gzip layers, <hex>.tar.gz). Each
// is pushed and pulled back by get (format: oci) bit for bit: the config as saved, each layer's
// tar as saved (gzip layers: the compressed bytes as saved). Damaged, incomplete and
// malformed tarballs are refused before anything is uploaded.
#include <gtest/gtest.h>

#include "baton/common/sha256.h"
#include "fakes/test_env.h"
#include "registry-server/registry_resource_fixture.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::Count;
using baton::testing::ImageLayout;
using baton::testing::OciBlobs;
using baton::testing::ReadFile;
using baton::testing::RunCommand;
using baton::testing::SkopeoDigest;
using baton::testing::WriteFile;

class RegistryPutDocker : public baton::testing::RegistryResourceTest {
 protected:
  void SetUp() override { StartRegistry(); }

  // A busybox image with a second layer (a file, a hard link, a symlink), env and user, saved
  // by skopeo as a docker-archive tarball and unpacked into dir_/<name>.
  fs::path SaveImage(const std::string& name) {
    ImageLayout layout(dir_ / ("layout-" + name));
    layout.NewBusyboxImage("t");
    layout.AddLayer("t", {{"etc/motd", "saved by docker"},
                          {"etc/motd-hard", "=>etc/motd"},
                          {"etc/motd-link", "->motd"}});
    layout.Configure("t", {"MARKER=docker-save"}, "app");
    fs::path tarball = dir_ / (name + ".tar");
    layout.ExportDockerArchive("t", tarball, "team/app:latest");
    fs::path dir = dir_ / name;
    fs::create_directories(dir);
    RunCommand({"tar", "-xf", tarball.string(), "-C", dir.string()}, dir);
    RunCommand({"chmod", "-R", "u+w", dir.string()}, dir);  // skopeo writes them read-only
    return dir;
  }

  // A copy of the saved image in `from` (links kept) as dir_/<name>.
  fs::path Copy(const fs::path& from, const std::string& name) {
    fs::copy(from, dir_ / name, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    return dir_ / name;
  }

  // Tars `dir` (entries named ./...) as build/image/<name>.tar; returns "image/<name>.tar".
  std::string Tar(const fs::path& dir, const std::string& name) {
    fs::create_directories(build_ / "image");
    RunCommand(
        {"tar", "-cf", (build_ / "image" / (name + ".tar")).string(), "-C", dir.string(), "."},
        dir);
    return "image/" + name + ".tar";
  }

  Json Source(const std::string& tag = "latest") const {
    return {{"repository", registry_->host() + "/team/app"}, {"tag", tag}, {"insecure", true}};
  }

  Result<FetchedVersion> Put(const std::string& image, const std::string& tag = "latest") {
    return type_->Put(ctx_, Source(tag), {{"image", image}}, build_.string());
  }

  Result<FetchedVersion> Get(const std::string& digest, const std::string& name,
                             const Json& params = Json::object()) {
    fs::create_directories(dir_ / name);
    return type_->Get(ctx_, Source(), Json{{"digest", digest}}, params, (dir_ / name).string());
  }

  // Pulls `digest` as an OCI tarball and checks it against the saved image in `saved`: the
  // config blob is the saved config file, each layer blob (gunzipped unless `gzip_as_saved`)
  // is the saved layer file; returns how many layers were compared.
  size_t ExpectPulledAsSaved(const std::string& digest, const fs::path& saved, bool gzip_as_saved) {
    auto oci = Get(digest, "oci-" + saved.filename().string(), {{"format", "oci"}});
    EXPECT_TRUE(oci.ok()) << oci.status().ToString();
    if (!oci.ok()) return 0;
    fs::path pulled = dir_ / ("oci-" + saved.filename().string()) / "image.tar";
    auto blobs = OciBlobs(pulled, dir_ / ("blobs-" + saved.filename().string()));
    Json manifest = Json::parse(blobs.at(digest.substr(7)));
    EXPECT_EQ(manifest["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    Json image = Json::parse(ReadFile(saved / "manifest.json"))[0];
    std::string config_hex = manifest["config"]["digest"].get<std::string>().substr(7);
    EXPECT_TRUE(blobs.at(config_hex) == ReadFile(saved / image["Config"].get<std::string>()));
    EXPECT_EQ(manifest["layers"].size(), image["Layers"].size());
    size_t compared = 0;
    for (size_t i = 0; i < image["Layers"].size() && i < manifest["layers"].size(); ++i) {
      const Json& layer = manifest["layers"][i];
      EXPECT_EQ(layer["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip");
      fs::path blob = dir_ / ("blobs-" + saved.filename().string()) / "blobs" / "sha256" /
                      layer["digest"].get<std::string>().substr(7);
      std::string as_saved = ReadFile(saved / image["Layers"][i].get<std::string>());
      std::string pulled_bytes =
          gzip_as_saved ? ReadFile(blob) : RunCommand({"gzip", "-dc", blob.string()}, "/");
      EXPECT_TRUE(pulled_bytes == as_saved) << "layer " << i << " differs";
      ++compared;
    }
    return compared;
  }

  fs::path build_ = dir_ / "build";
};

// As `docker save` wrote before Docker 25: each layer a real <id>/layer.tar, named so in
// manifest.json (skopeo writes <diff id>.tar and links <id>/layer.tar to it).
void AsClassicDockerSave(const fs::path& dir) {
  std::map<std::string, std::string> legacy;  // "<diff id>.tar" -> "<id>/layer.tar"
  for (const auto& e : fs::directory_iterator(dir)) {
    fs::path link = e.path() / "layer.tar";
    if (e.is_directory() && fs::is_symlink(link)) {
      legacy[fs::read_symlink(link).filename().string()] =
          (e.path().filename() / "layer.tar").string();
    }
  }
  Json manifest = Json::parse(ReadFile(dir / "manifest.json"));
  for (auto& layer : manifest[0]["Layers"]) {
    std::string top = layer;
    std::string real = legacy.at(top);
    fs::remove(dir / real);
    fs::rename(dir / top, dir / real);
    layer = real;
  }
  WriteFile(dir / "manifest.json", manifest.dump());
}

// As crane writes: each layer gzip-compressed as <sha256 of the gzip>.tar.gz.
void WithGzipLayers(const fs::path& dir) {
  Json manifest = Json::parse(ReadFile(dir / "manifest.json"));
  for (auto& layer : manifest[0]["Layers"]) {
    std::string gz = RunCommand({"gzip", "-n", "-c", layer.get<std::string>()}, dir);
    std::string name = Sha256Hex(gz) + ".tar.gz";
    WriteFile(dir / name, gz);
    fs::remove(dir / layer.get<std::string>());
    layer = name;
  }
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::is_symlink(e.path() / "layer.tar"))
      fs::remove(e.path() / "layer.tar");
  WriteFile(dir / "manifest.json", manifest.dump());
}

TEST_F(RegistryPutDocker, PushesSkopeosDockerArchiveAndGetBringsItBackBitForBit) {
  fs::path saved = SaveImage("skopeo");
  auto put = Put(Tar(saved, "image"));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  std::string digest = put->version.value("digest", "");
  EXPECT_EQ(SkopeoDigest(*registry_, "team/app:latest"), digest);
  EXPECT_EQ(ExpectPulledAsSaved(digest, saved, /*gzip_as_saved=*/false), 2u);

  auto rootfs = Get(digest, "rootfs");
  ASSERT_TRUE(rootfs.ok()) << rootfs.status().ToString();
  fs::path root = dir_ / "rootfs" / "rootfs";
  EXPECT_TRUE(ReadFile(root / "bin/busybox") == ReadFile("/bin/busybox"));
  EXPECT_EQ(ReadFile(root / "etc/motd"), "saved by docker");
  EXPECT_EQ(fs::hard_link_count(root / "etc/motd"), 2u);
  EXPECT_EQ(fs::read_symlink(root / "etc/motd-link"), "motd");
  Json metadata = Json::parse(ReadFile(dir_ / "rootfs" / "metadata.json"));
  EXPECT_EQ(metadata["user"], "app");
  EXPECT_EQ(metadata["env"], Json({"MARKER=docker-save"}));

  // The same tarball again: the layers gzip to the same bytes, so nothing is uploaded.
  std::string log = ReadFile(registry_->log_path());
  size_t uploads = Count(log, "\"POST /v2/team/app/blobs/uploads/");
  EXPECT_EQ(uploads, 3u) << log;  // config + 2 layers
  auto again = Put("image/image.tar", "again");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->version, put->version);
  log = ReadFile(registry_->log_path());
  EXPECT_EQ(Count(log, "\"POST /v2/team/app/blobs/uploads/"), uploads) << log;
}

TEST_F(RegistryPutDocker, PushesClassicDockerSaveLayoutsAndGzipLayersAsSaved) {
  fs::path skopeo = SaveImage("skopeo");
  auto from_skopeo = Put(Tar(skopeo, "skopeo"), "skopeo");
  ASSERT_TRUE(from_skopeo.ok()) << from_skopeo.status().ToString();

  fs::path classic = Copy(skopeo, "classic");
  AsClassicDockerSave(classic);
  auto put = Put(Tar(classic, "classic"), "classic");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  // The same image in another layout: the same blobs, so the same manifest.
  EXPECT_EQ(put->version, from_skopeo->version);
  EXPECT_EQ(ExpectPulledAsSaved(put->version["digest"], classic, false), 2u);

  fs::path gzipped = Copy(skopeo, "gzipped");
  WithGzipLayers(gzipped);
  auto gz = Put(Tar(gzipped, "gzipped"), "gzipped");
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  EXPECT_EQ(SkopeoDigest(*registry_, "team/app:gzipped"), gz->version["digest"]);
  EXPECT_EQ(ExpectPulledAsSaved(gz->version["digest"], gzipped, /*gzip_as_saved=*/true), 2u);
  auto rootfs = Get(gz->version["digest"], "rootfs");
  ASSERT_TRUE(rootfs.ok()) << rootfs.status().ToString();
  EXPECT_EQ(ReadFile(dir_ / "rootfs/rootfs/etc/motd"), "saved by docker");
}

TEST_F(RegistryPutDocker, DamagedIncompleteAndMalformedTarballsAreRefusedBeforeAnyUpload) {
  fs::path saved = SaveImage("saved");
  AsClassicDockerSave(saved);
  Json manifest = Json::parse(ReadFile(saved / "manifest.json"));
  std::string last = manifest[0]["Layers"].back();
  auto refused = [&](const std::string& name) {
    auto r = Put(Tar(saved, name));
    EXPECT_FALSE(r.ok()) << name;
    return r.ok() ? std::string() : r.status().message();
  };

  std::string bytes = ReadFile(saved / last);
  std::string damaged = bytes;
  damaged[damaged.size() / 3] ^= 0x55;
  WriteFile(saved / last, damaged);
  std::string m = refused("damaged");
  EXPECT_NE(m.find("layer 2/2 `" + last + "` does not match the config's rootfs.diff_ids[1]"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("the tarball is damaged"), std::string::npos) << m;
  WriteFile(saved / last, bytes);

  fs::rename(saved / last, saved / "elsewhere.tar");
  m = refused("incomplete");
  EXPECT_NE(m.find("names the layer `" + last + "`, which is not in the tarball"),
            std::string::npos)
      << m;
  fs::rename(saved / "elsewhere.tar", saved / last);

  fs::create_directories(saved / "escape");
  fs::create_symlink("../../../../../../etc/passwd", saved / "escape" / "layer.tar");
  Json outside = manifest;
  outside[0]["Layers"].back() = "escape/layer.tar";
  WriteFile(saved / "manifest.json", outside.dump());
  m = refused("outside");
  EXPECT_NE(m.find("`escape/layer.tar` leads outside the tarball"), std::string::npos) << m;

  Json two = Json::array({manifest[0], manifest[0]});
  WriteFile(saved / "manifest.json", two.dump());
  m = refused("two");
  EXPECT_NE(m.find("its manifest.json names 2 images; a put pushes exactly one"), std::string::npos)
      << m;
  EXPECT_EQ(Count(ReadFile(registry_->log_path()), "\"POST /v2/"), 0u);
}

}  // namespace
}  // namespace baton::workers
