// Which tags a registry-image check without `tag` reports, and in which order (image_check.h),
// without a registry: the choices the real-registry tests (registry_check_test.cpp) see whole.
#include <gtest/gtest.h>

#include "resources/registry_image/image_check.h"

namespace baton::workers::resources {
namespace {

ImageSource Source(const Json& more = Json::object()) {
  Json source = {{"repository", "a.io/app"}};
  source.update(more);
  auto parsed = ParseImageSource(source, "test");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : ImageSource{};
}

std::string Reported(const ImageSource& source, const std::string& tag) {
  auto version = ReportedVersion(source, tag);
  return version ? version->ToString() : "-";
}

TagDigest At(const std::string& tag, const std::string& digest) {
  return TagDigest{tag, digest, ParseSemanticVersion(tag)};
}

Json Version(const std::string& tag, const std::string& digest) {
  return Json{{"tag", tag}, {"digest", digest}};
}

TEST(RegistryImageCheckTags, OnlyVersionsOfTheVariantWithinTheConstraintAreReported) {
  ImageSource plain = Source();
  EXPECT_EQ(Reported(plain, "1.2.3"), "1.2.3");
  EXPECT_EQ(Reported(plain, "v1.2"), "1.2.0");
  EXPECT_EQ(Reported(plain, "latest"), "-");
  EXPECT_EQ(Reported(plain, "1.2.3-rc.1"), "-") << "pre-releases only when asked for";
  EXPECT_EQ(Reported(plain, "1.2.3-alpine"), "-") << "another variant's";

  ImageSource pre = Source({{"pre_releases", true}});
  EXPECT_EQ(Reported(pre, "1.2.3-rc.1"), "1.2.3-rc.1");
  EXPECT_EQ(Reported(pre, "2.0.0-alpha"), "2.0.0-alpha");
  EXPECT_EQ(Reported(pre, "2.0.0-beta.2"), "2.0.0-beta.2");
  EXPECT_EQ(Reported(pre, "1.2.3-alpine"), "-");
  EXPECT_EQ(Reported(pre, "1.2.3-rc.1-alpine"), "-") << "a pre-release of another variant";

  ImageSource alpine = Source({{"variant", "alpine"}, {"pre_releases", true}});
  EXPECT_EQ(Reported(alpine, "1.2.3-alpine"), "1.2.3");
  EXPECT_EQ(Reported(alpine, "1.2.3-rc.1-alpine"), "1.2.3-rc.1");
  EXPECT_EQ(Reported(alpine, "1.2.3"), "-");
  EXPECT_EQ(Reported(alpine, "alpine"), "-") << "the variant's `latest`, not a version";
  EXPECT_EQ(Reported(alpine, "-alpine"), "-");

  ImageSource within = Source({{"semver_constraint", "~1.2"}});
  EXPECT_EQ(Reported(within, "1.2.9"), "1.2.9");
  EXPECT_EQ(Reported(within, "1.3.0"), "-");
}

TEST(RegistryImageCheckTags, EachDigestOnceByItsBestTagLowestFirstThenLatest) {
  std::vector<TagDigest> tags = {At("2", "sha256:b"),     At("2.0", "sha256:b"),
                                 At("2.0.0", "sha256:b"), At("1.9.0-rc.1", "sha256:c"),
                                 At("1.9.0", "sha256:c"), At("10.0.0", "sha256:d"),
                                 At("1.10.0", "sha256:e")};
  TagDigest latest{"latest", "sha256:z", std::nullopt};
  EXPECT_EQ(SemverCheckVersions(tags, latest, false),
            (std::vector<Json>{Version("1.9.0", "sha256:c"), Version("1.10.0", "sha256:e"),
                               Version("2.0.0", "sha256:b"), Version("10.0.0", "sha256:d"),
                               Version("latest", "sha256:z")}));
  EXPECT_EQ(SemverCheckVersions(tags, latest, true).size(), 4u) << "no latest with a constraint";
  latest.digest = "sha256:d";
  EXPECT_EQ(SemverCheckVersions(tags, latest, false).back(), Version("10.0.0", "sha256:d"))
      << "latest names a version's image: that version stands for it";
  EXPECT_EQ(SemverCheckVersions({}, std::nullopt, false), std::vector<Json>{});
}

}  // namespace
}  // namespace baton::workers::resources
