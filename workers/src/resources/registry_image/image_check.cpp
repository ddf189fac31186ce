// registry-image check (image_check.h).
#include "resources/registry_image/image_check.h"

#include <algorithm>
#include <map>

#include "baton/common/clock.h"
#include "baton/common/strings.h"
#include "resources/registry_image/image_manifest.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

// The digest `tag` names now (HEAD; GET when the registry does not say). A tag the registry does
// not know is an error when `must_exist`, else nullopt (a listed tag deleted since).
Result<std::optional<std::string>> DigestOf(RegistryClient& client, const std::string& tag,
                                            bool must_exist) {
  BATON_ASSIGN_OR_RETURN(std::string digest, client.HeadManifestDigest(tag));
  if (!digest.empty()) return std::optional<std::string>(std::move(digest));
  auto manifest = client.GetManifest(tag);
  if (manifest.ok()) return std::optional<std::string>(std::move(manifest->digest));
  if (manifest.status().code() == StatusCode::kNotFound && !must_exist) {
    return std::optional<std::string>();
  }
  return manifest.status();
}

// Whether `tag` names its digest better than `held`, which names it too: a release over a
// pre-release, else the tag with more parts (1.2.3 over 1.2 over 1, rc.2 over rc).
bool NamesItBetter(const TagDigest& tag, const TagDigest& held) {
  const bool release = tag.version->prerelease.empty();
  if (release != held.version->prerelease.empty()) return release;
  return std::count(tag.tag.begin(), tag.tag.end(), '.') >
         std::count(held.tag.begin(), held.tag.end(), '.');
}

Json TaggedVersion(const std::string& tag, const std::string& digest) {
  return Json{{"tag", tag}, {"digest", digest}};
}

// When the image `digest` names (source.platform's, of an index) was made, from its config; the
// epoch when the config does not say.
Result<SystemTime> CreatedAt(RegistryClient& client, const ImageSource& source,
                             const std::string& digest) {
  const std::string what = "registry-image check (created_at_sort)";
  BATON_ASSIGN_OR_RETURN(ResolvedImage image, ResolveImage(client, source, digest, what));
  BATON_ASSIGN_OR_RETURN(std::string blob,
                         client.GetBlob(image.config.digest, image.config.size,
                                        "fetching the config of " + digest + " from"));
  BATON_ASSIGN_OR_RETURN(ImageRunConfig config, ParseImageConfig(blob, what));
  return ParseRfc3339(config.created).value_or(SystemTime{});
}

Result<std::vector<Json>> RegexVersions(const ResourceContext& ctx, RegistryClient& client,
                                        const ImageSource& source,
                                        const std::vector<std::string>& tags) {
  std::vector<std::pair<SystemTime, Json>> found;
  for (const std::string& tag : tags) {
    if (!std::regex_search(tag, *source.tag_pattern)) continue;
    BATON_ASSIGN_OR_RETURN(std::optional<std::string> digest, DigestOf(client, tag, false));
    if (!digest) continue;
    SystemTime created{};
    if (source.created_at_sort) {
      BATON_ASSIGN_OR_RETURN(created, CreatedAt(client, source, *digest));
    }
    found.emplace_back(created, TaggedVersion(tag, *digest));
  }
  // Oldest image first (the last is the newest version); the registry's order between equals.
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Json> out;
  for (auto& [created, version] : found) out.push_back(std::move(version));
  LogLine(ctx, client.ImageName() + ": " + std::to_string(out.size()) + " of " +
                   std::to_string(tags.size()) + " tags match tag_regex `" + source.tag_regex +
                   "`" + (source.created_at_sort ? ", oldest image first" : ""));
  return out;
}

Result<std::vector<Json>> SemverVersions(const ResourceContext& ctx, RegistryClient& client,
                                         const ImageSource& source,
                                         const std::vector<std::string>& tags, const Json& from) {
  const std::string bare_tag = source.variant.empty() ? "latest" : source.variant;
  const std::string from_tag = from.is_object() ? from.value("tag", "") : "";
  std::vector<TagDigest> found;
  std::optional<TagDigest> bare;
  // The version checked last, first: when its tag still names its digest, the tags of earlier
  // (or equal) versions are not asked about.
  std::optional<SemanticVersion> cursor;
  std::optional<SemanticVersion> from_version = ReportedVersion(source, from_tag);
  if (from_version && std::find(tags.begin(), tags.end(), from_tag) != tags.end()) {
    BATON_ASSIGN_OR_RETURN(std::optional<std::string> digest, DigestOf(client, from_tag, false));
    if (digest) {
      found.push_back(TagDigest{from_tag, *digest, from_version});
      if (*digest == from.value("digest", "")) cursor = from_version;
    }
  }
  for (const std::string& tag : tags) {
    std::optional<SemanticVersion> version;
    if (tag != bare_tag) {
      version = ReportedVersion(source, tag);
      if (!version || (from_version && tag == from_tag)) continue;
      if (cursor && CompareVersions(*version, *cursor) <= 0) continue;
    }
    BATON_ASSIGN_OR_RETURN(std::optional<std::string> digest, DigestOf(client, tag, false));
    if (!digest) continue;
    if (version) {
      found.push_back(TagDigest{tag, *digest, version});
    } else {
      bare = TagDigest{tag, *digest, std::nullopt};
    }
  }
  std::vector<Json> out = SemverCheckVersions(found, bare, source.semver_constraint.has_value());
  LogLine(ctx,
          client.ImageName() + ": " + std::to_string(out.size()) + " version(s) from " +
              std::to_string(tags.size()) + " tags" +
              (out.empty() ? "" : ", newest " + out.back()["tag"].get<std::string>()) +
              (cursor ? " (tags up to " + from_tag + ", checked before, not asked again)" : ""));
  return out;
}

}  // namespace

std::optional<SemanticVersion> ReportedVersion(const ImageSource& source, const std::string& tag) {
  std::optional<SemanticVersion> version = VersionOfTag(tag, source.variant);
  if (!version) return std::nullopt;
  if (source.semver_constraint && !source.semver_constraint->Matches(*version)) {
    return std::nullopt;
  }
  const std::string& pre = version->prerelease;
  if (!pre.empty()) {
    // 1.2.3-alpine is no pre-release but another variant's tag.
    if (!source.pre_releases || pre.find('-') != std::string::npos) return std::nullopt;
    if (!StartsWith(pre, "alpha") && !StartsWith(pre, "beta") && !StartsWith(pre, "rc")) {
      return std::nullopt;
    }
  }
  return version;
}

std::vector<Json> SemverCheckVersions(const std::vector<TagDigest>& version_tags,
                                      const std::optional<TagDigest>& bare, bool constrained) {
  std::map<std::string, const TagDigest*> by_digest;
  for (const TagDigest& tag : version_tags) {
    auto [held, fresh] = by_digest.try_emplace(tag.digest, &tag);
    if (!fresh && NamesItBetter(tag, *held->second)) held->second = &tag;
  }
  std::vector<const TagDigest*> chosen;
  for (const auto& [digest, tag] : by_digest) chosen.push_back(tag);
  std::sort(chosen.begin(), chosen.end(), [](const TagDigest* a, const TagDigest* b) {
    int order = CompareVersions(*a->version, *b->version);
    return order != 0 ? order < 0 : a->tag < b->tag;  // 1.2 and 1.2.0 apart: by name
  });
  std::vector<Json> out;
  for (const TagDigest* tag : chosen) out.push_back(TaggedVersion(tag->tag, tag->digest));
  if (bare && !constrained && by_digest.count(bare->digest) == 0) {
    out.push_back(TaggedVersion(bare->tag, bare->digest));
  }
  return out;
}

Result<std::vector<Json>> CheckImage(const ResourceContext& ctx, RegistryClient& client,
                                     const ImageSource& source, const Json& from) {
  if (!source.VersionsNameTheirTag()) {
    BATON_ASSIGN_OR_RETURN(std::optional<std::string> digest,
                           DigestOf(client, source.tag, /*must_exist=*/true));
    LogLine(ctx, client.ImageName() + ":" + source.tag + " is " + *digest);
    return std::vector<Json>{Json{{"digest", *digest}}};
  }
  BATON_ASSIGN_OR_RETURN(std::vector<std::string> tags, client.ListTags());
  if (source.tag_pattern) return RegexVersions(ctx, client, source, tags);
  return SemverVersions(ctx, client, source, tags, from);
}

}  // namespace baton::workers::resources
