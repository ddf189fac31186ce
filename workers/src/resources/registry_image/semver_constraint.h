// source.semver_constraint of a registry-image resource: a version range in the syntax of
// Masterminds/semver v3, which concourse/registry-image-resource checks tags against.
//
//   ">= 1.2, < 3.0.0 || >= 4.2.3"   alternatives (||) of comparisons ANDed by commas or spaces
//   = != > < >= <= =< =>             comparisons; no operator means =
//   ~1.2.3  ~>1.2                    same major and minor (same major for ~1), at least the version
//   ^1.2.3  ^0.2.3  ^0.0.3           same major (0.x: same minor; 0.0.z: same patch), at least it
//   1.2.x  1.X  *  1.2  v1            wildcards and partial versions: 1.2 means 1.2.x
//   1.2 - 1.4.5                      a hyphen range: >= 1.2, <= 1.4.5 (<= 1.4 takes in 1.4.x)
//
// A pre-release version only matches an alternative whose comparisons name a pre-release
// (`>= 1.2.3-0`); then it is compared by precedence like any other version.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "resources/registry_image/image_version.h"

namespace baton::workers::resources {

// Pure and immutable once made, so safe to share between threads.
class SemverConstraint {
 public:
  enum class Op { kEqual, kNotEqual, kGreater, kGreaterEqual, kLess, kLessEqual, kTilde, kCaret };

  // The version a comparison names: `given` is how many of major, minor, patch were numbers
  // before the first wildcard or missing part (3 for 1.2.3, 2 for 1.2 or 1.2.x, 0 for *); the
  // rest read as 0 in `version`, whose build metadata is dropped.
  struct Comparison {
    Op op = Op::kEqual;
    SemanticVersion version;
    int given = 3;
  };

  // Reads a Masterminds/semver v3 constraint; an InvalidArgument error names the constraint,
  // says what is wrong and at which character.
  static Result<SemverConstraint> Parse(const std::string& text);

  // Whether `version` (its build metadata ignored) satisfies some alternative.
  bool Matches(const SemanticVersion& version) const;

 private:
  struct Alternative {
    std::vector<Comparison> comparisons;
    bool names_prerelease = false;
  };

  std::vector<Alternative> alternatives_;
};

}  // namespace baton::workers::resources
