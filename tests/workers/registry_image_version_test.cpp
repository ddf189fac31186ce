// The semantic versions a registry-image put reads from params.version and the alias tags
// params.bump_aliases moves, against tag lists as a registry would list them.
#include <gtest/gtest.h>

#include "resources/registry_image/image_version.h"

namespace baton::workers::resources {
namespace {

using Tags = std::vector<std::string>;

SemanticVersion V(const std::string& text) {
  auto v = ParseSemanticVersion(text);
  EXPECT_TRUE(v.has_value()) << text;
  return v.value_or(SemanticVersion{});
}

TEST(SemanticVersionTag, ReadsFullPartialAndPrefixedVersionsAsTags) {
  EXPECT_EQ(V("1.2.3").ToString(), "1.2.3");
  EXPECT_EQ(V("v1.2.3").ToString(), "1.2.3");  // no `v` in the tag, as registry-image pushes
  EXPECT_EQ(V("1.2").ToString(), "1.2.0");
  EXPECT_EQ(V("7").ToString(), "7.0.0");
  EXPECT_EQ(V("2.0.0-rc.1").prerelease, "rc.1");
  EXPECT_EQ(V("2.0.0-rc.1+linux.amd64").ToString(), "2.0.0-rc.1+linux.amd64");
  EXPECT_EQ(V("18446744073709551615.0.1").major, 18446744073709551615ull);
  for (const char* bad : {"", "v", "1.2.3.4", "1..2", "1.2.", "a.b.c", "1.2.3-", "1.2.3+",
                          "1.2.3-rc..1", "1.2.3 ", "-1.2.3", "1.2.3-r_c", "18446744073709551616"})
    EXPECT_FALSE(ParseSemanticVersion(bad).has_value()) << bad;
}

TEST(SemanticVersionAliases, TheFirstVersionMovesEveryAlias) {
  EXPECT_EQ(AliasTagsToBump(V("1.2.3"), "", {}), (Tags{"latest", "1", "1.2"}));
  EXPECT_EQ(AliasTagsToBump(V("1.2.3"), "", {"latest", "nightly", "sha-abc"}),
            (Tags{"latest", "1", "1.2"}));
}

TEST(SemanticVersionAliases, AnOlderLineMovesOnlyTheAliasesItIsTheNewestOf) {
  Tags existing = {"1.2.3", "1.2", "1", "latest", "2.0.0", "2.0", "2"};
  EXPECT_EQ(AliasTagsToBump(V("1.2.4"), "", existing), (Tags{"1", "1.2"}));
  EXPECT_EQ(AliasTagsToBump(V("1.1.9"), "", existing), (Tags{"1.1"}));
  EXPECT_EQ(AliasTagsToBump(V("1.2.2"), "", existing), (Tags{}));  // 1.2.3 is later
  EXPECT_EQ(AliasTagsToBump(V("2.0.1"), "", existing), (Tags{"latest", "2", "2.0"}));
  EXPECT_EQ(AliasTagsToBump(V("2.0.0"), "", existing), (Tags{"latest", "2", "2.0"}));  // again
}

TEST(SemanticVersionAliases, PreReleasesAndOtherVariantsDoNotCount) {
  EXPECT_EQ(AliasTagsToBump(V("1.2.3"), "", {"1.3.0-rc.1", "2.0.0-beta"}),
            (Tags{"latest", "1", "1.2"}));
  Tags existing = {"3.0.0", "1.2.3-alpine", "alpine", "1-alpine", "1.2-alpine", "1.4.0-slim"};
  EXPECT_EQ(AliasTagsToBump(V("1.3.0"), "alpine", existing),
            (Tags{"alpine", "1-alpine", "1.3-alpine"}));
  EXPECT_EQ(AliasTagsToBump(V("1.2.2"), "alpine", existing), (Tags{}));
}

}  // namespace
}  // namespace baton::workers::resources
