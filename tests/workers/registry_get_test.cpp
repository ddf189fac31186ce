// registry-image get against Debian's docker-registry on 127.0.0.1: layers unpacked in order
// (whiteouts, opaque directories, owners, modes, hard and symbolic links), nothing written
// outside the target, the platform picked from an index, zstd layers, metadata.json, the OCI
// tarball (read back by skopeo), skip_download, and a corrupted blob caught by its digest.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "baton/workers/resource_type.h"
#include "fakes/test_env.h"
#include "registry-server/registry_resource_fixture.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::ImageLayout;
using baton::testing::ReadFile;
using baton::testing::RunCommand;

struct stat Lstat(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

// Scratch blob files left in `dir`.
std::vector<std::string> Leftovers(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind(".baton-blob-", 0) == 0) out.push_back(name);
  }
  return out;
}

class RegistryGet : public baton::testing::RegistryResourceTest {
 protected:
  void SetUp() override { StartRegistry(); }

  Json Source(const std::string& repository, const std::string& tag = "latest") {
    return {{"repository", registry_->host() + "/" + repository}, {"tag", tag}, {"insecure", true}};
  }

  std::string CheckDigest(const Json& source) {
    auto r = type_->Check(ctx_, source, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && !r->empty() ? (*r)[0]["digest"].get<std::string>() : "";
  }

  // Gets `source`'s current digest into a fresh directory named `name`.
  Result<FetchedVersion> Get(const Json& source, const std::string& name,
                             const Json& params = Json::object()) {
    std::string digest = CheckDigest(source);
    fs::create_directories(dir_ / name);
    return type_->Get(ctx_, source, Json{{"digest", digest}}, params, (dir_ / name).string());
  }
};

TEST_F(RegistryGet, UnpacksLayersInOrderWithWhiteoutsOpaqueDirsLinksOwnersAndModes) {
  std::string outside = "baton-registry-" + std::to_string(::getpid()) + "-escaped";
  ImageLayout layout(dir_ / "image");
  layout.NewBusyboxImage("t");
  layout.AddLayer("t",
                  {{"etc/removed", "lower"},
                   {"data/old/a", "a"},
                   {"data/old/b", "b"},
                   {"data/secret/", ""},
                   {"opt/tool", "tool"},
                   {"escape", "->../../../../../../../../tmp"},
                   {"abs", "->/etc"}},
                  {{"opt/tool", {"1000:1000", 04755}}, {"data/secret/", {"1000:1001", 0700}}});
  layout.AddLayer("t", {{"etc/.wh.removed", ""},
                        {"data/old/.wh..wh..opq", ""},
                        {"data/old/c", "c"},
                        {"opt/tool2", "two"},
                        {"opt/tool2-hard", "=>opt/tool2"},
                        {"escape/" + outside, "written through a symlink"},
                        {"abs/" + outside, "written through an absolute symlink"}});
  layout.Configure("t", {"PATH=/bin", "GREETING=hello world"}, "app");
  layout.Push("t", *registry_, "team/app", "latest");

  auto got = Get(Source("team/app"), "get");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  fs::path root = dir_ / "get" / "rootfs";
  EXPECT_EQ(ReadFile(root / "bin/busybox"), ReadFile("/bin/busybox"));
  EXPECT_FALSE(fs::exists(root / "etc/removed"));
  EXPECT_TRUE(fs::exists(root / "etc/passwd"));
  EXPECT_FALSE(fs::exists(root / "data/old/a"));
  EXPECT_FALSE(fs::exists(root / "data/old/b"));
  EXPECT_EQ(ReadFile(root / "data/old/c"), "c");
  EXPECT_FALSE(fs::exists(root / "data/old/.wh..wh..opq"));
  struct stat tool = Lstat(root / "opt/tool");
  EXPECT_EQ(tool.st_uid, 1000u);
  EXPECT_EQ(tool.st_gid, 1000u);
  EXPECT_EQ(tool.st_mode & 07777, 04755u);
  struct stat secret = Lstat(root / "data/secret");
  EXPECT_EQ(secret.st_gid, 1001u);
  EXPECT_EQ(secret.st_mode & 07777, 0700u);
  EXPECT_EQ(Lstat(root / "opt/tool2").st_ino, Lstat(root / "opt/tool2-hard").st_ino);
  EXPECT_EQ(Lstat(root / "opt/tool2").st_nlink, 2u);
  // Links are kept as written and resolve inside the root, never on the host.
  EXPECT_EQ(fs::read_symlink(root / "escape"), "../../../../../../../../tmp");
  EXPECT_EQ(fs::read_symlink(root / "abs"), "/etc");
  EXPECT_EQ(ReadFile(root / "tmp" / outside), "written through a symlink");
  EXPECT_EQ(ReadFile(root / "etc" / outside), "written through an absolute symlink");
  EXPECT_FALSE(fs::exists(fs::path("/tmp") / outside));
  EXPECT_FALSE(fs::exists(fs::path("/etc") / outside));

  Json metadata = Json::parse(ReadFile(dir_ / "get" / "metadata.json"));
  EXPECT_EQ(metadata["user"], "app");
  EXPECT_EQ(metadata["env"], Json({"PATH=/bin", "GREETING=hello world"}));
  EXPECT_EQ(ReadFile(dir_ / "get" / "digest"), got->version["digest"].get<std::string>());
  EXPECT_EQ(ReadFile(dir_ / "get" / "tag"), "latest");
  EXPECT_EQ(ReadFile(dir_ / "get" / "repository"), registry_->host() + "/team/app");
}

TEST_F(RegistryGet, PicksThePlatformFromAnIndexAndReadsZstdLayers) {
  ImageLayout layout(dir_ / "image");
  layout.NewBusyboxImage("amd");
  layout.AddZstdLayer("amd", {{"etc/flavour", "amd64 via zstd"}});
  layout.Configure("amd", {"MARKER=amd"}, "");
  layout.NewBusyboxImage("arm");
  layout.Configure("arm", {"MARKER=arm"}, "");
  layout.MakeIndex("multi", {{"linux/amd64", "amd"}, {"linux/arm64", "arm"}});
  layout.Push("multi", *registry_, "team/multi", "latest");

  auto raw = [&](const std::string& reference) {
    return Json::parse(RunCommand({"skopeo", "inspect", "--raw", "--tls-verify=false",
                                   "docker://" + registry_->host() + "/team/multi" + reference},
                                  "/"));
  };
  Json index = raw(":latest");
  ASSERT_EQ(index["manifests"].size(), 2u);  // pushed as an index, the zstd layer kept
  std::string amd_digest = index["manifests"][0]["platform"]["architecture"] == "amd64"
                               ? index["manifests"][0]["digest"]
                               : index["manifests"][1]["digest"];
  EXPECT_EQ(raw("@" + amd_digest)["layers"].back()["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+zstd");
  auto amd = Get(Source("team/multi"), "amd");
  ASSERT_TRUE(amd.ok()) << amd.status().ToString();
  EXPECT_EQ(ReadFile(dir_ / "amd/rootfs/etc/flavour"), "amd64 via zstd");
  EXPECT_EQ(Json::parse(ReadFile(dir_ / "amd/metadata.json"))["env"], Json({"MARKER=amd"}));

  Json arm_source = Source("team/multi");
  arm_source["platform"] = {{"architecture", "arm64"}};
  auto arm = Get(arm_source, "arm");
  ASSERT_TRUE(arm.ok()) << arm.status().ToString();
  EXPECT_EQ(amd->version, arm->version);  // the version is the index's digest
  EXPECT_EQ(Json::parse(ReadFile(dir_ / "arm/metadata.json"))["env"], Json({"MARKER=arm"}));
  EXPECT_FALSE(fs::exists(dir_ / "arm/rootfs/etc/flavour"));

  Json s390x = Source("team/multi");
  s390x["platform"] = {{"architecture", "s390x"}};
  auto none = Get(s390x, "s390x");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("linux/amd64, linux/arm64"), std::string::npos)
      << none.status().message();
  EXPECT_NE(none.status().message().find("source.platform"), std::string::npos);
}

// A layer is read with the one decompressor its media type names: an xz layer labelled tar+gzip
// is refused (libarchive would read xz, bzip2, lz4 ... and start lrzip, lzop, grzip from $PATH
// if every filter were on), while the same bytes of a zstd layer under its own type are read.
TEST_F(RegistryGet, ALayerIsReadOnlyWithTheCompressionItsMediaTypeNames) {
  ImageLayout layout(dir_ / "image");
  layout.NewBusyboxImage("xz");
  layout.AddCompressedLayer("xz", {{"etc/motd", "xz inside"}}, {"xz", "-c"},
                            "application/vnd.oci.image.layer.v1.tar+gzip");
  layout.Push("xz", *registry_, "team/xz", "latest");
  auto xz = Get(Source("team/xz"), "xz");
  ASSERT_FALSE(xz.ok());
  const std::string& m = xz.status().message();
  EXPECT_NE(m.find("layer 2/2"), std::string::npos) << m;
  EXPECT_NE(m.find("media type says tar+gzip"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(dir_ / "xz/rootfs/etc/motd"));

  layout.NewBusyboxImage("mislabelled");
  layout.AddCompressedLayer("mislabelled", {{"etc/motd", "zstd inside"}}, {"zstd", "-q", "-c"},
                            "application/vnd.oci.image.layer.v1.tar+gzip");
  layout.Push("mislabelled", *registry_, "team/mislabelled", "latest");
  auto mislabelled = Get(Source("team/mislabelled"), "mislabelled");
  ASSERT_FALSE(mislabelled.ok());
  EXPECT_NE(mislabelled.status().message().find("media type says tar+gzip"), std::string::npos)
      << mislabelled.status().message();
}

TEST_F(RegistryGet, WritesAnOciTarballAndSkipDownloadWritesOnlyTheFiles) {
  ImageLayout layout(dir_ / "image");
  layout.NewBusyboxImage("t");
  layout.Push("t", *registry_, "team/app", "v1");
  Json source = Source("team/app", "v1");
  auto oci = Get(source, "oci", {{"format", "oci"}});
  ASSERT_TRUE(oci.ok()) << oci.status().ToString();
  fs::path tar = dir_ / "oci" / "image.tar";
  std::string raw = RunCommand({"skopeo", "inspect", "--raw", "oci-archive:" + tar.string()}, "/");
  std::string hex =
      RunCommand({"sh", "-c", "printf %s \"$0\" | sha256sum", raw}, "/").substr(0, 64);
  EXPECT_EQ("sha256:" + hex, oci->version["digest"]);
  EXPECT_FALSE(fs::exists(dir_ / "oci" / "rootfs"));

  auto skipped = Get(source, "skip", {{"skip_download", true}});
  ASSERT_TRUE(skipped.ok()) << skipped.status().ToString();
  EXPECT_EQ(ReadFile(dir_ / "skip" / "digest"), skipped->version["digest"].get<std::string>());
  EXPECT_FALSE(fs::exists(dir_ / "skip" / "rootfs"));
  EXPECT_FALSE(fs::exists(dir_ / "skip" / "metadata.json"));
}

TEST_F(RegistryGet, ABlobThatDoesNotMatchItsDigestIsRefusedNamingTheLayer) {
  ImageLayout layout(dir_ / "image");
  layout.NewBusyboxImage("t");
  layout.AddLayer("t", {{"etc/motd", "the real content"}});
  layout.Push("t", *registry_, "team/app", "latest");
  // Swap the bytes of the last layer in the registry's storage for something else.
  Json manifest = Json::parse(RunCommand({"skopeo", "inspect", "--raw", "--tls-verify=false",
                                          "docker://" + registry_->host() + "/team/app:latest"},
                                         "/"));
  std::string digest = manifest["layers"].back()["digest"];
  fs::path data = dir_ / "registry/data/docker/registry/v2/blobs/sha256" / digest.substr(7, 2) /
                  digest.substr(7) / "data";
  ASSERT_TRUE(fs::exists(data)) << data;
  std::string bytes = ReadFile(data);
  bytes[bytes.size() / 2] ^= 0x55;
  baton::testing::WriteFile(data, bytes);

  auto got = Get(Source("team/app"), "get");
  ASSERT_FALSE(got.ok());
  const std::string& m = got.status().message();
  EXPECT_NE(m.find("digest mismatch"), std::string::npos) << m;
  EXPECT_NE(m.find("layer 2/2"), std::string::npos) << m;
  EXPECT_NE(m.find(digest), std::string::npos) << m;
  EXPECT_EQ(Leftovers(dir_ / "get"), std::vector<std::string>{});  // the scratch file is gone
}

// Passes requests on and records the largest response body that came back whole (a streamed
// download's body goes to the request's on_body instead).
class BodySizeRecorder : public HttpTransport {
 public:
  BodySizeRecorder(std::unique_ptr<HttpTransport> inner, size_t* largest)
      : inner_(std::move(inner)), largest_(largest) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    Result<HttpResponse> r = inner_->Send(request);
    if (r.ok()) *largest_ = std::max(*largest_, r->body.size());
    return r;
  }

 private:
  std::unique_ptr<HttpTransport> inner_;
  size_t* largest_;
};

TEST_F(RegistryGet, LayersAreStreamedToDiskNeverHeldInMemoryWhole) {
  // 24 MiB that gzip cannot shrink: the layer blob is about as big.
  std::string big(24 << 20, '\0');
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < big.size(); i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    memcpy(&big[i], &x, 8);
  }
  ImageLayout layout(dir_ / "image");
  layout.NewBusyboxImage("t");
  layout.AddLayer("t", {{"data/big.bin", big}});
  layout.Push("t", *registry_, "team/big", "latest");
  size_t largest = 0;
  HttpTransportFactory real = MakeHttpTransportFactory();
  transports_ = [&](const HttpTransportOptions& o) -> std::unique_ptr<HttpTransport> {
    return std::make_unique<BodySizeRecorder>(real(o), &largest);
  };

  auto got = Get(Source("team/big"), "get");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(ReadFile(dir_ / "get/rootfs/data/big.bin") == big);
  EXPECT_LT(largest, 1u << 20) << "a response body of " << largest << " bytes was held whole";
  EXPECT_EQ(Leftovers(dir_ / "get"), std::vector<std::string>{});

  auto oci = Get(Source("team/big"), "oci", {{"format", "oci"}});
  ASSERT_TRUE(oci.ok()) << oci.status().ToString();
  EXPECT_LT(largest, 1u << 20) << "a response body of " << largest << " bytes was held whole";
  EXPECT_GT(fs::file_size(dir_ / "oci/image.tar"), big.size());
  EXPECT_EQ(Leftovers(dir_ / "oci"), std::vector<std::string>{});
  RunCommand({"skopeo", "inspect", "oci-archive:" + (dir_ / "oci/image.tar").string()}, "/");
}

}  // namespace
}  // namespace baton::workers
