// The order of semantic versions and the source.semver_constraint a registry-image check filters
// tags by, with the meaning Masterminds/semver v3 (which registry-image-resource uses) gives them.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "resources/registry_image/image_version.h"
#include "resources/registry_image/semver_constraint.h"

namespace baton::workers::resources {
namespace {

using VersionTexts = std::vector<std::string>;

SemanticVersion SemverOf(const std::string& text) {
  auto v = ParseSemanticVersion(text);
  EXPECT_TRUE(v.has_value()) << text;
  return v.value_or(SemanticVersion{});
}

// Every version of `allowed` satisfies `constraint` and none of `refused` does.
void ExpectConstraintSplits(const std::string& constraint, const VersionTexts& allowed,
                            const VersionTexts& refused) {
  Result<SemverConstraint> parsed = SemverConstraint::Parse(constraint);
  ASSERT_TRUE(parsed.ok()) << constraint << ": " << parsed.status().ToString();
  for (const std::string& v : allowed)
    EXPECT_TRUE(parsed->Matches(SemverOf(v))) << "`" << constraint << "` should allow " << v;
  for (const std::string& v : refused)
    EXPECT_FALSE(parsed->Matches(SemverOf(v))) << "`" << constraint << "` should refuse " << v;
}

// The constraint is refused, and the message quotes it and says `what` went wrong.
void ExpectRefusedConstraint(const std::string& constraint, const std::string& what) {
  Result<SemverConstraint> parsed = SemverConstraint::Parse(constraint);
  ASSERT_FALSE(parsed.ok()) << "`" << constraint << "` should be refused";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << constraint;
  EXPECT_NE(parsed.status().message().find("\"" + constraint + "\""), std::string::npos)
      << parsed.status().message();
  EXPECT_NE(parsed.status().message().find(what), std::string::npos)
      << parsed.status().message() << " should say " << what;
}

TEST(SemanticVersionOrder, FollowsTheSemverOrgPrecedenceChain) {
  const VersionTexts chain = {"1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                              "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",       "1.0.0",
                              "1.0.1",        "1.9.0",         "1.10.0",           "2.0.0",
                              "10.0.0"};
  for (size_t i = 0; i < chain.size(); ++i) {
    for (size_t j = 0; j < chain.size(); ++j) {
      const int order = CompareVersions(SemverOf(chain[i]), SemverOf(chain[j]));
      if (i < j) {
        EXPECT_LT(order, 0) << chain[i] << " before " << chain[j];
      } else if (i > j) {
        EXPECT_GT(order, 0) << chain[i] << " after " << chain[j];
      } else {
        EXPECT_EQ(order, 0) << chain[i];
      }
    }
  }
}

TEST(SemanticVersionOrder, SortsTagsFromOldestToNewest) {
  std::vector<SemanticVersion> versions;
  for (const char* tag : {"1.0.0", "1.0.0-beta.11", "1.0.0-alpha", "1.0.0-rc.1", "1.0.0-beta.2",
                          "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-alpha.1"})
    versions.push_back(SemverOf(tag));
  std::sort(versions.begin(), versions.end(),
            [](const auto& a, const auto& b) { return CompareVersions(a, b) < 0; });
  VersionTexts sorted;
  for (const SemanticVersion& v : versions) sorted.push_back(v.ToString());
  EXPECT_EQ(sorted, (VersionTexts{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                                  "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"}));
}

TEST(SemanticVersionOrder, IgnoresBuildMetadataAndComparesIdentifiersByKind) {
  EXPECT_EQ(CompareVersions(SemverOf("1.0.0+linux"), SemverOf("1.0.0+darwin")), 0);
  EXPECT_EQ(CompareVersions(SemverOf("1.0.0-rc.1+a"), SemverOf("1.0.0-rc.1")), 0);
  EXPECT_LT(CompareVersions(SemverOf("1.0.0-999"), SemverOf("1.0.0-a")), 0);       // numeric first
  EXPECT_LT(CompareVersions(SemverOf("1.0.0-BETA"), SemverOf("1.0.0-alpha")), 0);  // ASCII
  EXPECT_GT(CompareVersions(SemverOf("1.0.0-a-b"), SemverOf("1.0.0-a.b")), 0);     // "a-b" > "a"
  EXPECT_LT(CompareVersions(SemverOf("1.0.0-18446744073709551615"),
                            SemverOf("1.0.0-18446744073709551616")),
            0);  // beyond 64 bits still numeric
  EXPECT_GT(CompareVersions(SemverOf("2.0.0-alpha"), SemverOf("1.9.9")), 0);
}

TEST(SemverConstraint, EachComparisonOperatorComparesByPrecedence) {
  for (const char* equal : {"1.2.3", "=1.2.3", "= 1.2.3", "v1.2.3", "=v1.2.3+build.1"})
    ExpectConstraintSplits(equal, {"1.2.3", "1.2.3+other"}, {"1.2.2", "1.2.4", "1.3.0"});
  ExpectConstraintSplits("!=1.2.3", {"1.2.2", "1.2.4", "2.0.0"}, {"1.2.3", "1.2.3+other"});
  ExpectConstraintSplits(">1.2.3", {"1.2.4", "1.3.0", "2.0.0"}, {"1.2.3", "1.2.2"});
  ExpectConstraintSplits("<1.2.3", {"1.2.2", "0.9.9"}, {"1.2.3", "1.2.4"});
  for (const char* at_least : {">=1.2.3", "=>1.2.3", ">= v1.2.3"})
    ExpectConstraintSplits(at_least, {"1.2.3", "1.10.0"}, {"1.2.2", "0.9.0"});
  for (const char* at_most : {"<=1.2.3", "=<1.2.3", "<=  1.2.3"})
    ExpectConstraintSplits(at_most, {"1.2.3", "1.2.2", "0.1.0"}, {"1.2.4", "2.0.0"});
}

TEST(SemverConstraint, ATildeAllowsPatchLevelChangesOnly) {
  for (const char* tilde : {"~1.2.3", "~>1.2.3", "~ 1.2.3"})
    ExpectConstraintSplits(tilde, {"1.2.3", "1.2.9"}, {"1.2.2", "1.3.0", "2.0.0"});
  for (const char* tilde : {"~1.2", "~1.2.x", "~>1.2"})
    ExpectConstraintSplits(tilde, {"1.2.0", "1.2.7"}, {"1.1.9", "1.3.0"});
  ExpectConstraintSplits("~0.2.3", {"0.2.3", "0.2.5"}, {"0.2.2", "0.3.0"});
}

TEST(SemverConstraint, ATildeWithoutAMinorAllowsMinorChanges) {
  for (const char* tilde : {"~1", "~1.x", "~>1"})
    ExpectConstraintSplits(tilde, {"1.0.0", "1.4.0", "1.9.9"}, {"0.9.0", "2.0.0", "2.1.1"});
  for (const char* any : {"~x", "~*", "~0.0.0"})  // Masterminds reads ~0.0.0 as >= 0.0.0
    ExpectConstraintSplits(any, {"0.0.0", "0.0.1", "2.1.1"}, {});
}

TEST(SemverConstraint, ACaretAllowsChangesThatKeepTheMajorVersion) {
  ExpectConstraintSplits("^1.2.3", {"1.2.3", "1.8.9"}, {"1.2.2", "2.0.0", "0.9.9"});
  ExpectConstraintSplits("^1.2", {"1.2.0", "1.9.0"}, {"1.1.9", "2.0.0"});
  for (const char* caret : {"^1", "^1.x", "^1.x.x"})
    ExpectConstraintSplits(caret, {"1.0.0", "1.1.1", "1.9.9"}, {"0.9.9", "2.0.0", "2.1.1"});
  ExpectConstraintSplits("^*", {"0.0.1", "3.4.5"}, {});
}

TEST(SemverConstraint, ACaretOnAZeroMajorVersionKeepsItsFirstNonZeroPart) {
  ExpectConstraintSplits("^0.2.3", {"0.2.3", "0.2.9"}, {"0.2.2", "0.3.0", "1.0.0"});
  ExpectConstraintSplits("^0.2", {"0.2.0", "0.2.5"}, {"0.1.9", "0.3.0"});
  ExpectConstraintSplits("^0.0.3", {"0.0.3"}, {"0.0.2", "0.0.4", "0.1.3"});
  ExpectConstraintSplits("^0.0", {"0.0.0", "0.0.9"}, {"0.1.0", "1.0.0"});
  ExpectConstraintSplits("^0", {"0.0.1", "0.9.9"}, {"1.0.0"});
  ExpectConstraintSplits("^0.0.0", {"0.0.0"}, {"0.0.1", "1.2.3"});
}

TEST(SemverConstraint, WildcardsStandForEveryValueOfTheirPart) {
  for (const char* c : {"1.2.x", "1.2.X", "1.2.*", "=1.2.x", "v1.2.x"})
    ExpectConstraintSplits(c, {"1.2.0", "1.2.99"}, {"1.1.9", "1.3.0"});
  for (const char* c : {"1.x", "1.*.*", "1.X.x", "1.x.3"})
    ExpectConstraintSplits(c, {"1.0.0", "1.9.9"}, {"0.9.9", "2.0.0"});
  for (const char* c : {"*", "x", "X", "*.*.*", ">=*"})
    ExpectConstraintSplits(c, {"0.0.0", "1.2.3", "99.0.0"}, {});
  ExpectConstraintSplits(">= 1.2.x", {"1.2.0", "3.0.0"}, {"1.1.9"});
  ExpectConstraintSplits("<= 2.x", {"0.1.0", "2.9.9"}, {"3.0.0"});
  ExpectConstraintSplits("> 1.x", {"2.0.0"}, {"1.9.9", "1.0.0"});
  ExpectConstraintSplits("< 1.x", {"0.9.9"}, {"1.0.0", "1.1.1"});
  ExpectConstraintSplits("!= 4.x", {"3.9.9", "5.1.0"}, {"4.0.0", "4.1.0"});
  ExpectConstraintSplits("!=4.2.x", {"4.3.0", "4.1.9"}, {"4.2.0", "4.2.3"});
}

TEST(SemverConstraint, APartialVersionNamesEveryVersionItIsAPrefixOf) {
  ExpectConstraintSplits("1.2", {"1.2.0", "1.2.7"}, {"1.1.0", "1.3.0"});
  ExpectConstraintSplits("=2", {"2.0.0", "2.1.1"}, {"1.0.0", "3.4.5"});
  ExpectConstraintSplits(">1.1", {"1.2.0", "4.1.0"}, {"1.1.0", "1.1.9"});
  ExpectConstraintSplits(">11", {"12.0.0"}, {"11.0.0", "11.1.0"});
  ExpectConstraintSplits(">=1.1", {"1.1.0", "4.1.0"}, {"1.0.9"});
  ExpectConstraintSplits("<1.1", {"1.0.9", "0.1.0"}, {"1.1.0", "1.1.1"});
  ExpectConstraintSplits("<=1.1", {"0.1.0", "1.1.0", "1.1.9"}, {"1.2.0"});
  ExpectConstraintSplits("<=11", {"11.2.3"}, {"12.0.0"});
  ExpectConstraintSplits("!=4.1", {"4.0.9", "4.2.0", "5.1.0"}, {"4.1.0", "4.1.1"});
}

TEST(SemverConstraint, AHyphenRangeIncludesBothEnds) {
  ExpectConstraintSplits("1.2 - 1.4.5", {"1.2.0", "1.3.9", "1.4.5"}, {"1.1.9", "1.4.6"});
  ExpectConstraintSplits("2.3.4 - 4.5", {"2.3.4", "4.5.0", "4.5.9"}, {"2.3.3", "4.6.0"});
  ExpectConstraintSplits("1.1 - 2", {"1.1.0", "2.9.9"}, {"1.0.9", "3.0.0"});
  ExpectConstraintSplits("1.0.0 - 2.0.0, <=1.5.0", {"1.0.0", "1.5.0"}, {"1.5.1", "2.0.0"});
  ExpectConstraintSplits("1 - 2 || 4 - 5", {"1.0.0", "4.2.0"}, {"3.0.0", "6.0.0"});
  // Without spaces around the hyphen it is a pre-release: =1.1-3, so 1.1.x from 1.1.0-3.
  ExpectConstraintSplits("1.1-3", {"1.1.0", "1.1.0-4", "1.1.5"}, {"1.1.0-2", "3.0.0", "4.3.2"});
}

TEST(SemverConstraint, AlternativesNeedOneToMatchAndComparisonsNeedAll) {
  for (const char* c :
       {">=1.1, <2, !=1.2.3 || > 3", ">=1.1 <2 !=1.2.3 || >3", " >= 1.1 ,\t< 2 ,!= 1.2.3||>3 "})
    ExpectConstraintSplits(c, {"1.1.0", "1.2.4", "4.1.2"},
                           {"1.0.9", "1.2.3", "2.0.0", "3.0.0", "3.1.2"});
  ExpectConstraintSplits(">=1.1, <2, !=1.2.3 || >= 3", {"3.0.0", "3.1.2"}, {"1.2.3"});
  ExpectConstraintSplits("1.2.3||2.0.0", {"1.2.3", "2.0.0"}, {"1.2.4", "2.0.1"});
  ExpectConstraintSplits(">1.1,<2", {"1.2.1"}, {"1.1.1", "2.0.0"});
}

TEST(SemverConstraint, APreReleaseMatchesOnlyWhereItsAlternativeNamesOne) {
  ExpectConstraintSplits(">=1.2.3", {"1.2.4"}, {"1.2.3-beta", "1.2.4-beta", "2.0.0-rc.1"});
  ExpectConstraintSplits("*", {"1.2.3"}, {"1.2.3-alpha.1"});
  ExpectConstraintSplits("*-0", {"1.2.3-alpha.1", "1.2.3"}, {});
  ExpectConstraintSplits(">=1.2.3-0", {"1.2.3-0", "1.2.3-alpha", "1.2.3", "2.0.0-rc.1"},
                         {"1.2.2", "1.2.2-rc.1"});
  ExpectConstraintSplits(">= 1.2.3-beta", {"1.2.3-beta", "1.2.3-beta.2", "1.2.3-rc.1", "1.3.0-a"},
                         {"1.2.3-alpha", "1.2.3-BETA"});
  // Naming one anywhere in the alternative lets pre-releases through all of its comparisons.
  ExpectConstraintSplits(">=1.2.3-beta, <1.3", {"1.2.5-alpha", "1.3.0-alpha"}, {"1.3.0"});
  ExpectConstraintSplits("<1.0.0 || >=2.0.0-0", {"0.9.0", "2.1.0-rc.1"}, {"0.9.0-rc.1"});
  ExpectConstraintSplits("~1.2.3-beta.2", {"1.2.3-beta.4", "1.2.4-beta.2", "1.2.3"},
                         {"1.2.3-beta.1", "1.3.4-beta.2"});
  ExpectConstraintSplits("^1.2.0-alpha.0", {"1.2.1-alpha.1", "1.9.0"}, {"2.0.0-alpha.0"});
  ExpectConstraintSplits("^1.2.0", {"1.2.1"}, {"1.2.1-alpha.1"});
  ExpectConstraintSplits("!=4.1-alpha", {"4.1.0", "4.2.0-alpha"}, {"4.1.0-alpha", "4.1.1-alpha"});
  ExpectConstraintSplits(">0-0", {"1.0.0", "1.0.0-rc.1"}, {"0.0.1-alpha", "0.9.0"});
}

TEST(SemverConstraint, MalformedConstraintsAreRefusedSayingWhatAndWhere) {
  ExpectRefusedConstraint("", "is empty");
  ExpectRefusedConstraint("  ", "is empty");
  ExpectRefusedConstraint(">=", "expected a version at the end");
  ExpectRefusedConstraint("1.2.3.4", "unexpected `.` at character 6");
  ExpectRefusedConstraint(">> 1", "expected a version at character 2");
  ExpectRefusedConstraint("1.2 -", "expected a version at the end");
  ExpectRefusedConstraint("=1.2 - 1.4", "expected a version at character 6");
  ExpectRefusedConstraint("a.b.c", "expected a version at character 1");
  ExpectRefusedConstraint("1.2 | 1.3", "expected a version at character 5");
  ExpectRefusedConstraint("1.2.3 ||", "expected a version comparison at the end");
  ExpectRefusedConstraint("|| 1.2.3", "expected a version comparison at character 1");
  ExpectRefusedConstraint(">=1.2.3,", "expected a version comparison after `,` at the end");
  ExpectRefusedConstraint("1.2.3~1.2", "unexpected `~` at character 6");
  ExpectRefusedConstraint("1.2.3-", "expected a pre-release identifier at the end");
  ExpectRefusedConstraint("1.2.3-rc..1", "expected a pre-release identifier at character 10");
  ExpectRefusedConstraint("1.2.3-01", "leading zero at character 7");
  ExpectRefusedConstraint("1.2.3+", "expected a build metadata identifier at the end");
  ExpectRefusedConstraint("18446744073709551616", "too large at character 1");
  ExpectRefusedConstraint("V1.2.3", "expected a version at character 1");
}

}  // namespace
}  // namespace baton::workers::resources
