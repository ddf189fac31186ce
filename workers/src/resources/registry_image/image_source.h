// The `source` of a registry-image resource (and of an `image_resource` of that type), parsed
// and checked once: which registry and repository, which tag, how to authenticate and connect.
// Pure; thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/resource_type.h"
#include "resources/registry_image/semver_constraint.h"

namespace baton::workers::resources {

// Where an image lives: "registry-1.docker.io" + "library/busybox" for `busybox`.
struct ImageRepository {
  std::string registry;         // host[:port]
  std::string name;             // path inside the registry
  bool registry_named = false;  // the repository named its registry (not Docker Hub by default)
};

// source.registry_mirror: where Docker Hub images are pulled from first.
struct RegistryMirror {
  std::string host;  // host[:port]
  std::string username;
  std::string password;
};

struct ImageSource {
  std::string repository;  // as the user wrote it (for messages)
  ImageRepository where;
  std::string tag = "latest";  // with `variant` applied
  bool tag_given = false;      // source.tag set: with params.version, a put pushes it only then
  std::string variant;         // source.variant
  std::string username;
  std::string password;
  bool insecure = false;              // plain http (or https without verification)
  std::vector<std::string> ca_certs;  // PEM certificates trusted for this registry
  std::string platform_os = "linux";
  std::string platform_architecture = "amd64";
  std::string platform_variant;  // e.g. "v8" for arm64; empty matches any
  std::optional<RegistryMirror> mirror;
  // Without source.tag, a check discovers tags (image_check.h): those source.tag_regex finds, or
  // else the semantic versions, within source.semver_constraint, pre-releases with
  // source.pre_releases.
  std::string tag_regex;                          // as written, for messages
  std::shared_ptr<const std::regex> tag_pattern;  // tag_regex compiled (ECMAScript); null without
  bool created_at_sort = false;                   // the tags tag_regex finds, oldest image first
  std::optional<SemverConstraint> semver_constraint;
  bool pre_releases = false;

  // Versions of a source without `tag` name their tag: {tag, digest}. With `tag`, {digest}.
  bool VersionsNameTheirTag() const { return !tag_given; }
};

// The source as its mirror serves it (the mirror's host and credentials), when a mirror is set
// and applies: only to images whose repository names no registry, as registry-image has it.
std::optional<ImageSource> ThroughMirror(const ImageSource& source);

// A tag as the distribution spec allows: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool IsValidTag(const std::string& tag);

// Splits a repository reference as Docker does: the first component is a registry when it has
// a '.' or ':' or is "localhost"; otherwise the image is on Docker Hub, and one-component names
// live under "library/". A tag or digest in the reference is an error (use source.tag).
Result<ImageRepository> ParseRepository(const std::string& repository);

// Reads `source` (repository, tag, variant, tag_regex, created_at_sort, semver_constraint,
// pre_releases, username, password, insecure, ca_certs, platform, registry_mirror).
// `what` prefixes errors ("registry-image check").
Result<ImageSource> ParseImageSource(const Json& source, const std::string& what);

}  // namespace baton::workers::resources
