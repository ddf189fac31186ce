// registry-image put against Debian's docker-registry on 127.0.0.1: an OCI image tarball (made
// by umoci + skopeo from busybox-static) pushed under source.tag and params.additional_tags,
// read back by skopeo and by get bit for bit; blobs the registry has are not uploaded again
// (its access log shows no upload); an image index; the bearer-token flow asking for push;
// errors for globs, tarballs that are not OCI layouts, damaged blobs and bad tags; params.version
// with bump_aliases moving latest, MAJOR and MAJOR.MINOR only when no later version is there,
// with a variant, and the registry's tag list.
#include <gtest/gtest.h>

#include "baton/workers/resource_type.h"
#include "fakes/test_env.h"
#include "registry-server/registry_resource_fixture.h"
#include "registry-server/token_issuer.h"
#include "resources/registry_image/image_source.h"
#include "resources/registry_image/registry_client.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::Count;
using baton::testing::ImageLayout;
using baton::testing::OciBlobs;
using baton::testing::ReadFile;
using baton::testing::RegistryServerOptions;
using baton::testing::RunCommand;
using baton::testing::SkopeoDigest;
using baton::testing::TokenIssuer;
using baton::testing::TokenIssuerOptions;
using baton::testing::WriteFile;
using resources::ParseImageSource;
using resources::RegistryClient;

class RegistryPut : public baton::testing::RegistryResourceTest {
 protected:
  // A busybox image whose env holds MARKER=<marker>, as build/<rel>.
  void MakeTarball(const std::string& marker, const std::string& rel = "image/image.tar") {
    ImageLayout layout(dir_ / ("layout-" + marker));
    layout.NewBusyboxImage("t");
    layout.Configure("t", {"MARKER=" + marker}, "app");
    layout.ExportTarball("t", build_ / rel);
  }

  Json Source(const std::string& tag = "latest") const {
    return {{"repository", registry_->host() + "/team/app"}, {"tag", tag}, {"insecure", true}};
  }

  Result<FetchedVersion> Put(const Json& source, const Json& params) {
    return type_->Put(ctx_, source, params, build_.string());
  }

  Result<FetchedVersion> Get(const Json& source, const std::string& digest, const std::string& name,
                             const Json& params = Json::object()) {
    fs::create_directories(dir_ / name);
    return type_->Get(ctx_, source, Json{{"digest", digest}}, params, (dir_ / name).string());
  }

  fs::path build_ = dir_ / "build";
};

TEST_F(RegistryPut, PushesATarballUnderItsTagsAndGetBringsItBackBitForBit) {
  StartRegistry();
  MakeTarball("one");
  WriteFile(build_ / "image" / "tags", "v1 1.0\nv1\n");
  auto put = Put(Source(), {{"image", "image/*.tar"}, {"additional_tags", "image/tags"}});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  std::string digest = put->version.value("digest", "");
  EXPECT_EQ(put->version, (Json{{"digest", digest}}));
  ASSERT_EQ(put->metadata.size(), 1u);
  EXPECT_EQ(put->metadata[0].name, "tags");
  EXPECT_EQ(put->metadata[0].value, "latest v1 1.0");
  for (const char* tag : {"latest", "v1", "1.0"})
    EXPECT_EQ(SkopeoDigest(*registry_, std::string("team/app:") + tag), digest) << tag;
  auto checked = type_->Check(ctx_, Source("1.0"), nullptr);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(*checked, (std::vector<Json>{Json{{"digest", digest}}}));

  auto oci = Get(Source(), digest, "oci", {{"format", "oci"}});
  ASSERT_TRUE(oci.ok()) << oci.status().ToString();
  auto pushed = OciBlobs(build_ / "image" / "image.tar", dir_ / "pushed");
  auto got = OciBlobs(dir_ / "oci" / "image.tar", dir_ / "got");
  EXPECT_EQ(got.size(), 3u);  // manifest, config, one layer
  EXPECT_EQ(got, pushed);

  auto rootfs = Get(Source(), digest, "rootfs");
  ASSERT_TRUE(rootfs.ok()) << rootfs.status().ToString();
  EXPECT_TRUE(fs::exists(dir_ / "rootfs" / "rootfs" / "bin" / "busybox"));
  Json metadata = Json::parse(ReadFile(dir_ / "rootfs" / "metadata.json"));
  EXPECT_EQ(metadata["user"], "app");
  EXPECT_NE(metadata["env"].dump().find("MARKER=one"), std::string::npos) << metadata.dump();
}

TEST_F(RegistryPut, BlobsTheRegistryHasAreNotUploadedAgain) {
  StartRegistry();
  MakeTarball("one");
  auto first = Put(Source("a"), {{"image", "image/image.tar"}});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::string log = ReadFile(registry_->log_path());
  EXPECT_EQ(Count(log, "\"POST /v2/team/app/blobs/uploads/"), 2u) << log;  // config + layer

  auto second = Put(Source("b"), {{"image", "image/image.tar"}});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->version, first->version);
  log = ReadFile(registry_->log_path());
  EXPECT_EQ(Count(log, "\"POST /v2/team/app/blobs/uploads/"), 2u) << log;
  EXPECT_EQ(Count(log, "\"HEAD /v2/team/app/blobs/sha256:"), 4u) << log;
  EXPECT_EQ(Count(lines_.text(), "is in the registry already"), 2u) << lines_.text();
  EXPECT_EQ(SkopeoDigest(*registry_, "team/app:b"), first->version["digest"]);
}

TEST_F(RegistryPut, ReadsGzipAndZstdCompressedTarballs) {
  StartRegistry();
  MakeTarball("one");
  RunCommand({"sh", "-c", "gzip -c image.tar > image.tar.gz && zstd -q image.tar -o image.tar.zst"},
             build_ / "image");
  auto gz = Put(Source("gz"), {{"image", "image/image.tar.gz"}});
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  auto zst = Put(Source("zst"), {{"image", "image/image.tar.zst"}});
  ASSERT_TRUE(zst.ok()) << zst.status().ToString();
  EXPECT_EQ(zst->version, gz->version);
  EXPECT_EQ(SkopeoDigest(*registry_, "team/app:zst"), gz->version["digest"]);
}

TEST_F(RegistryPut, PushesAnImageIndexWithEveryPlatformsImage) {
  StartRegistry();
  ImageLayout layout(dir_ / "layout");
  layout.NewBusyboxImage("amd");
  layout.Configure("amd", {"ARCH=amd64"}, "");
  layout.NewBusyboxImage("arm");
  layout.Configure("arm", {"ARCH=arm64"}, "");
  layout.MakeIndex("multi", {{"linux/amd64", "amd"}, {"linux/arm64", "arm"}});
  layout.ExportTarball("multi", build_ / "image" / "image.tar");
  auto put = Put(Source(), {{"image", "image/image.tar"}});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  std::string digest = put->version["digest"];
  EXPECT_EQ(SkopeoDigest(*registry_, "team/app:latest"), digest);

  Json arm = Source();
  arm["platform"] = {{"architecture", "arm64"}};
  auto got = Get(arm, digest, "arm");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_NE(ReadFile(dir_ / "arm" / "metadata.json").find("ARCH=arm64"), std::string::npos);
}

TEST_F(RegistryPut, PushesThroughTheTokenFlowAskingForPushAndAnonymousPushIsRefused) {
  TokenIssuerOptions options;
  options.username = "ci-bot";
  options.password = "pu5h-pa55";
  options.anonymous_pull = true;
  TokenIssuer issuer(dir_ / "issuer", options);
  RegistryServerOptions registry;
  registry.token_issuer = &issuer;
  StartRegistry(registry);
  MakeTarball("one");

  auto anonymous = Put(Source(), {{"image", "image/image.tar"}});
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), StatusCode::kPermissionDenied);
  const std::string& m = anonymous.status().message();
  EXPECT_NE(m.find("insufficient_scope"), std::string::npos) << m;
  EXPECT_NE(m.find(issuer.realm()), std::string::npos) << m;
  EXPECT_NE(m.find("set source.username and source.password"), std::string::npos) << m;

  Json source = Source();
  source["username"] = "ci-bot";
  source["password"] = "pu5h-pa55";
  size_t before = issuer.requests().size();
  auto put = Put(source, {{"image", "image/image.tar"}});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto requests = issuer.requests();
  ASSERT_GT(requests.size(), before);
  for (size_t i = before; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].scope, "repository:team/app:pull,push");
    EXPECT_TRUE(requests[i].had_credentials);
  }
  EXPECT_TRUE(issuer.problems().empty()) << issuer.problems()[0];
  EXPECT_EQ(lines_.text().find("pu5h-pa55"), std::string::npos) << lines_.text();
}

TEST_F(RegistryPut, SaysWhatIsWrongWithTheImageParamsAndTheTarball) {
  StartRegistry();
  auto none = Put(Source(), {{"image", "image/*.tar"}});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("matches no file"), std::string::npos)
      << none.status().message();
  auto missing = Put(Source(), Json::object());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("params.image is required"), std::string::npos);

  MakeTarball("one", "image/a.tar");
  MakeTarball("two", "image/b.tar");
  auto two = Put(Source(), {{"image", "image/*.tar"}});
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("image/a.tar, image/b.tar"), std::string::npos)
      << two.status().message();

  WriteFile(build_ / "image" / "tags", "ok bad:tag");
  auto tag = Put(Source(), {{"image", "image/a.tar"}, {"additional_tags", "image/tags"}});
  ASSERT_FALSE(tag.ok());
  EXPECT_NE(tag.status().message().find("`bad:tag`"), std::string::npos) << tag.status().message();

  WriteFile(build_ / "plain" / "hello.txt", "hi");
  RunCommand({"tar", "-cf", "plain.tar", "hello.txt"}, build_ / "plain");
  auto plain = Put(Source(), {{"image", "plain/plain.tar"}});
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("no index.json"), std::string::npos)
      << plain.status().message();

  // Compressed other than gzip or zstd: refused, not handed to any of libarchive's other filters.
  RunCommand({"sh", "-c", "xz -c a.tar > a.tar.xz"}, build_ / "image");
  auto xz = Put(Source(), {{"image", "image/a.tar.xz"}});
  ASSERT_FALSE(xz.ok());
  EXPECT_NE(xz.status().message().find("is not a tarball (plain, gzip or zstd)"), std::string::npos)
      << xz.status().message();

  // One byte of the layer changed: the tarball's blob no longer matches its name.
  fs::path x = dir_ / "damaged";
  fs::create_directories(x);
  RunCommand({"tar", "-xf", (build_ / "image" / "a.tar").string(), "-C", x.string()}, x);
  fs::path biggest;
  for (const auto& e : fs::directory_iterator(x / "blobs" / "sha256"))
    if (biggest.empty() || fs::file_size(e.path()) > fs::file_size(biggest)) biggest = e.path();
  std::string bytes = ReadFile(biggest);
  bytes[bytes.size() / 2] ^= 0x55;
  WriteFile(biggest, bytes);
  RunCommand({"tar", "-cf", (build_ / "damaged.tar").string(), "."}, x);
  auto damaged = Put(Source(), {{"image", "damaged.tar"}});
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.status().message().find("does not match its digest"), std::string::npos)
      << damaged.status().message();
  EXPECT_NE(damaged.status().message().find(biggest.filename().string()), std::string::npos);
  EXPECT_EQ(Count(ReadFile(registry_->log_path()), "\"POST /v2/"), 0u);
}

TEST_F(RegistryPut, AVersionMovesOnlyTheAliasesNoLaterVersionHolds) {
  StartRegistry();
  Json source = {{"repository", registry_->host() + "/team/app"}, {"insecure", true}};
  auto push = [&](const std::string& marker, const std::string& version) {
    MakeTarball(marker, "image/" + marker + ".tar");
    auto put =
        Put(source,
            {{"image", "image/" + marker + ".tar"}, {"version", version}, {"bump_aliases", true}});
    EXPECT_TRUE(put.ok()) << put.status().ToString();
    return put.ok() ? *put : FetchedVersion{};
  };
  auto digest_of = [&](const std::string& tag) {
    return SkopeoDigest(*registry_, "team/app:" + tag);
  };

  // The first version of a repository nothing was pushed to: every alias, and no `latest` from
  // the source's default tag besides the alias (source.tag is not set).
  FetchedVersion first = push("one", "v1.2.3");
  std::string d1 = first.version.value("digest", "");
  EXPECT_EQ(first.metadata.at(0).value, "1.2.3 latest 1 1.2");
  // Named by its first tag, as a check of this source without `tag` reports it.
  EXPECT_EQ(first.version, (Json{{"tag", "1.2.3"}, {"digest", d1}}));
  auto checked = type_->Check(ctx_, source, nullptr);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(*checked, std::vector<Json>{first.version});
  for (const char* tag : {"1.2.3", "latest", "1", "1.2"}) EXPECT_EQ(digest_of(tag), d1) << tag;

  // A later major: latest, 2 and 2.0 move; 1 and 1.2 stay.
  std::string d2 = push("two", "2.0.0").version.value("digest", "");
  ASSERT_NE(d2, d1);
  for (const char* tag : {"2.0.0", "latest", "2", "2.0"}) EXPECT_EQ(digest_of(tag), d2) << tag;
  for (const char* tag : {"1", "1.2"}) EXPECT_EQ(digest_of(tag), d1) << tag;

  // A fix of the old line: 1 and 1.2 move to it, latest stays on 2.0.0.
  FetchedVersion fix = push("three", "1.2.4");
  std::string d3 = fix.version.value("digest", "");
  EXPECT_EQ(fix.metadata.at(0).value, "1.2.4 1 1.2");
  for (const char* tag : {"1.2.4", "1", "1.2"}) EXPECT_EQ(digest_of(tag), d3) << tag;
  EXPECT_EQ(digest_of("latest"), d2);

  // An older minor moves its own alias only; a pre-release moves none.
  std::string d4 = push("four", "1.1.0").version.value("digest", "");
  EXPECT_EQ(digest_of("1.1"), d4);
  EXPECT_EQ(digest_of("1"), d3);
  FetchedVersion rc = push("five", "3.0.0-rc.1");
  EXPECT_EQ(rc.metadata.at(0).value, "3.0.0-rc.1");
  EXPECT_EQ(digest_of("latest"), d2);

  // With a variant: the variant's own aliases, compared only with tags of that variant.
  Json slim = source;
  slim["variant"] = "slim";
  MakeTarball("six", "image/six.tar");
  auto variant =
      Put(slim, {{"image", "image/six.tar"}, {"version", "1.0.0"}, {"bump_aliases", true}});
  ASSERT_TRUE(variant.ok()) << variant.status().ToString();
  EXPECT_EQ(variant->metadata.at(0).value, "1.0.0-slim slim 1-slim 1.0-slim");
  EXPECT_EQ(digest_of("latest"), d2);

  // source.tag, when set, is pushed beside the version, first.
  MakeTarball("seven", "image/seven.tar");
  auto tagged = Put(Source("edge"), {{"image", "image/seven.tar"}, {"version", "0.9.0"}});
  ASSERT_TRUE(tagged.ok()) << tagged.status().ToString();
  EXPECT_EQ(tagged->metadata.at(0).value, "edge 0.9.0");
  EXPECT_EQ(tagged->version, (Json{{"digest", SkopeoDigest(*registry_, "team/app:edge")}}))
      << "a source with `tag` has {digest} versions";

  // The whole tag list as ListTags reads it (Debian's registry, distribution 2.8, does not page:
  // the pages are proven against a stand-in in registry_tag_list_test.cpp).
  auto image = ParseImageSource(source, "test");
  ASSERT_TRUE(image.ok());
  RegistryClient client(transports_, *image, "test");
  auto whole = client.ListTags();
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole->size(), 17u);  // 4 + 3 + 1 + 2 + 1 + 4 + 2 tags pushed above
}

TEST_F(RegistryPut, SaysWhatIsWrongWithTheVersionParams) {
  StartRegistry();
  MakeTarball("one");
  auto bad = Put(Source(), {{"image", "image/image.tar"}, {"version", "1.2.x"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("params.version `1.2.x` is not a semantic version"),
            std::string::npos)
      << bad.status().message();
  auto build = Put(Source(), {{"image", "image/image.tar"}, {"version", "1.2.3+linux"}});
  ASSERT_FALSE(build.ok());
  EXPECT_NE(build.status().message().find("a `+build` part cannot be a tag"), std::string::npos)
      << build.status().message();
  auto alone = Put(Source(), {{"image", "image/image.tar"}, {"bump_aliases", true}});
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.status().message().find("params.bump_aliases needs params.version"),
            std::string::npos)
      << alone.status().message();
  EXPECT_EQ(Count(ReadFile(registry_->log_path()), "\"POST /v2/"), 0u);
}

}  // namespace
}  // namespace baton::workers
