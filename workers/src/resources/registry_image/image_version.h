// The semantic versions a registry-image put pushes with params.version, and the alias tags
// params.bump_aliases moves, as concourse/registry-image-resource has them: version 1.2.3 is
// pushed as the tag `1.2.3` (`1.2.3-<variant>` with source.variant), and with bump_aliases also
// as `1.2` when no tag of the repository names a later 1.2.x, `1` when none names a later 1.x,
// and `latest` (the variant's name, with a variant) when none names a later version at all.
// Only tags of the same variant are compared; pre-releases neither move aliases nor count.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace baton::workers::resources {

struct SemanticVersion {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  std::string prerelease;  // "rc.1" of 1.2.3-rc.1; empty for a release
  std::string build;       // "linux" of 1.2.3+linux

  // "1.2.3", "1.2.3-rc.1", "1.2.3-rc.1+linux": as a tag, without a leading `v`.
  std::string ToString() const;
};

// Reads "1.2.3", "v1.2.3", "1.2" and "1" (the missing parts 0), with an optional "-prerelease"
// and "+build" of dot-separated [0-9A-Za-z-] identifiers; nullopt for anything else.
std::optional<SemanticVersion> ParseSemanticVersion(const std::string& text);

// Negative, zero or positive as `a` has lower, equal or higher precedence than `b` under Semantic
// Versioning 2.0.0 §11: major, minor and patch numerically; a pre-release before its release;
// pre-release identifiers dot by dot, numeric ones numerically and below alphanumeric ones, others
// in ASCII order, and a shorter list first when all else is equal. Build metadata is ignored.
int CompareVersions(const SemanticVersion& a, const SemanticVersion& b);

// The version `tag` names within `variant`: "1.2.3" with none, "1.2.3-<variant>" with one (the
// suffix required, then dropped); nullopt for a tag of another variant or no version.
std::optional<SemanticVersion> VersionOfTag(const std::string& tag, const std::string& variant);

// The alias tags to move to `version` (a release, not a pre-release) given every tag the
// repository has, in the order latest, major, major.minor; each with "-<variant>" when `variant`
// is set (and `latest` replaced by the variant itself).
std::vector<std::string> AliasTagsToBump(const SemanticVersion& version, const std::string& variant,
                                         const std::vector<std::string>& existing_tags);

}  // namespace baton::workers::resources
