// What a registry-image check reports, as concourse/registry-image-resource's check has it:
//  - with source.tag: the digest the tag names now, as {digest} (Baton's versions since the
//    registry-image type came; Concourse adds the tag).
//  - with source.tag_regex: every tag the regex finds in it (a search, as Go's MatchString), in
//    the registry's order, as {tag, digest}.
//  - with neither: the tags that are semantic versions (of source.variant when set, within
//    source.semver_constraint, pre-releases alpha/beta/rc only with source.pre_releases), one a
//    digest, lowest version first, as {tag, digest}; then `latest` (the variant's own tag with a
//    variant) when it names a digest no version tag does and no constraint is set. When the
//    version checked last still names its digest, only it and later versions are reported, so a
//    patch of an older line pushed after a newer version is not taken for the newest.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "baton/workers/resource_type.h"
#include "resources/registry_image/image_source.h"
#include "resources/registry_image/image_version.h"
#include "resources/registry_image/registry_client.h"

namespace baton::workers::resources {

// A tag and the digest it names; `version` when the tag is a semantic version.
struct TagDigest {
  std::string tag;
  std::string digest;
  std::optional<SemanticVersion> version;
};

// The semantic version `tag` names for `source` (without its `-<variant>` suffix, which it must
// have when source.variant is set), if it is one the check reports: within the constraint, and a
// pre-release only with pre_releases and then only alpha*, beta* or rc* (another suffix is a
// variant's). Pure.
std::optional<SemanticVersion> ReportedVersion(const ImageSource& source, const std::string& tag);

// The versions of a check without tag or tag_regex, from the version tags found (each with its
// version) and the bare tag (`latest` or the variant's), if found: one tag a digest (a release
// over a pre-release, else the tag with more parts: 1.2.3 over 1.2), lowest version first, then
// the bare tag when its digest is no version tag's and `constrained` is false. Pure.
std::vector<Json> SemverCheckVersions(const std::vector<TagDigest>& version_tags,
                                      const std::optional<TagDigest>& bare, bool constrained);

// The check itself against `client`'s registry (see the top of this file); `from` is the version
// checked last (null the first time). Says on ctx.output what it found.
Result<std::vector<Json>> CheckImage(const ResourceContext& ctx, RegistryClient& client,
                                     const ImageSource& source, const Json& from);

}  // namespace baton::workers::resources
