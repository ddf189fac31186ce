#include "resources/registry_image/image_source.h"

#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

constexpr const char* kDockerHub = "registry-1.docker.io";

bool LooksLikeRegistry(const std::string& component) {
  return component.find('.') != std::string::npos || component.find(':') != std::string::npos ||
         component == "localhost";
}

bool ValidNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
         c == '/';
}

Status ParsePlatform(const Json& source, const std::string& what, ImageSource& out) {
  if (!source.contains("platform") || source["platform"].is_null()) return Status::Ok();
  const Json& p = source["platform"];
  if (!p.is_object()) {
    return InvalidArgument(what + ": source.platform must be a map {os, architecture, variant}");
  }
  BATON_ASSIGN_OR_RETURN(out.platform_os,
                         StringField(p, "os", what + ": source.platform.os", out.platform_os));
  BATON_ASSIGN_OR_RETURN(out.platform_architecture,
                         StringField(p, "architecture", what + ": source.platform.architecture",
                                     out.platform_architecture));
  BATON_ASSIGN_OR_RETURN(out.platform_variant,
                         StringField(p, "variant", what + ": source.platform.variant"));
  return Status::Ok();
}

// source.tag_regex, created_at_sort, semver_constraint and pre_releases: how a check without
// `tag` finds tags.
Status ParseDiscovery(const Json& source, const std::string& what, ImageSource& out) {
  BATON_ASSIGN_OR_RETURN(out.tag_regex,
                         StringField(source, "tag_regex", what + ": source.tag_regex"));
  BATON_ASSIGN_OR_RETURN(std::string constraint, StringField(source, "semver_constraint",
                                                             what + ": source.semver_constraint"));
  BATON_ASSIGN_OR_RETURN(out.pre_releases,
                         BoolField(source, "pre_releases", what + ": source.pre_releases"));
  BATON_ASSIGN_OR_RETURN(out.created_at_sort,
                         BoolField(source, "created_at_sort", what + ": source.created_at_sort"));
  if (out.created_at_sort && out.tag_regex.empty()) {
    return InvalidArgument(what +
                           ": source.created_at_sort orders the tags source.tag_regex "
                           "finds: set tag_regex, or remove created_at_sort");
  }
  if (!out.tag_regex.empty()) {
    if (out.tag_given) {
      return InvalidArgument(what +
                             ": source.tag and source.tag_regex exclude each other: a "
                             "check follows one tag or the tags the regex finds");
    }
    try {
      out.tag_pattern = std::make_shared<const std::regex>(out.tag_regex);
    } catch (const std::regex_error& e) {
      return InvalidArgument(what + ": source.tag_regex `" + out.tag_regex +
                             "` is not a regular expression (ECMAScript syntax): " + e.what());
    }
  }
  if (!constraint.empty()) {
    auto parsed = SemverConstraint::Parse(constraint);
    if (!parsed.ok()) {
      return InvalidArgument(what + ": source.semver_constraint: " + parsed.status().message());
    }
    out.semver_constraint = std::move(*parsed);
  }
  return Status::Ok();
}

Status ParseTag(const Json& source, const std::string& what, ImageSource& out) {
  BATON_ASSIGN_OR_RETURN(std::string tag, StringField(source, "tag", what + ": source.tag"));
  BATON_ASSIGN_OR_RETURN(std::string variant,
                         StringField(source, "variant", what + ": source.variant"));
  bool tag_given = !tag.empty();
  // As registry-image: a variant alone names its own tag; with a tag it is a suffix.
  if (tag.empty())
    tag = variant.empty() ? "latest" : variant;
  else if (!variant.empty())
    tag += "-" + variant;
  if (!IsValidTag(tag)) {
    return InvalidArgument(what + ": source.tag `" + tag +
                           "` is not a valid tag (up to 128 letters, digits, '_', '.', '-')");
  }
  out.tag = tag;
  out.tag_given = tag_given;
  out.variant = variant;
  return Status::Ok();
}

Status ParseMirror(const Json& source, const std::string& what, ImageSource& out) {
  if (!source.contains("registry_mirror") || source["registry_mirror"].is_null())
    return Status::Ok();
  const Json& m = source["registry_mirror"];
  const std::string where = what + ": source.registry_mirror";
  if (!m.is_object()) return InvalidArgument(where + " must be a map {host, username, password}");
  RegistryMirror mirror;
  BATON_ASSIGN_OR_RETURN(mirror.host, StringField(m, "host", where + ".host"));
  BATON_ASSIGN_OR_RETURN(mirror.username, StringField(m, "username", where + ".username"));
  BATON_ASSIGN_OR_RETURN(mirror.password, StringField(m, "password", where + ".password"));
  if (mirror.host.empty() || mirror.host.find_first_of("/ @") != std::string::npos) {
    return InvalidArgument(where + ".host `" + mirror.host +
                           "` is not a host name: give host[:port], e.g. mirror.example.com "
                           "(without https:// or a path)");
  }
  if (mirror.username.empty() != mirror.password.empty())
    return InvalidArgument(where + ".username and .password go together");
  out.mirror = mirror;
  return Status::Ok();
}

}  // namespace

std::optional<ImageSource> ThroughMirror(const ImageSource& source) {
  if (!source.mirror || source.where.registry_named) return std::nullopt;
  ImageSource out = source;
  out.where.registry = source.mirror->host;
  out.username = source.mirror->username;
  out.password = source.mirror->password;
  out.mirror.reset();
  return out;
}

bool IsValidTag(const std::string& tag) {
  if (tag.empty() || tag.size() > 128 || tag.front() == '.' || tag.front() == '-') return false;
  for (char c : tag) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<ImageRepository> ParseRepository(const std::string& repository) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("source.repository `" + repository + "` " + why);
  };
  if (repository.empty()) return bad("is empty: name an image, e.g. `busybox` or `ghcr.io/o/app`");
  ImageRepository out;
  std::string rest = repository;
  size_t slash = rest.find('/');
  if (slash != std::string::npos && LooksLikeRegistry(rest.substr(0, slash))) {
    out.registry = rest.substr(0, slash);
    out.registry_named = true;
    rest = rest.substr(slash + 1);
  } else {
    out.registry = kDockerHub;
    if (rest.find('/') == std::string::npos) rest = "library/" + rest;
  }
  if (out.registry == "docker.io" || out.registry == "index.docker.io") out.registry = kDockerHub;
  if (rest.find('@') != std::string::npos) return bad("has a digest: give it as a version");
  if (rest.find(':') != std::string::npos) return bad("has a tag: put it in source.tag");
  for (char c : rest) {
    if (!ValidNameChar(c))
      return bad("has `" + std::string(1, c) + "`: use lower case a-z, 0-9, ._-/");
  }
  if (rest.empty() || rest.front() == '/' || rest.back() == '/') return bad("has an empty path");
  out.name = rest;
  return out;
}

Result<ImageSource> ParseImageSource(const Json& source, const std::string& what) {
  if (!source.is_object()) return InvalidArgument(what + ": source must be a map");
  ImageSource out;
  BATON_ASSIGN_OR_RETURN(out.repository,
                         StringField(source, "repository", what + ": source.repository"));
  auto where = ParseRepository(out.repository);
  if (!where.ok()) return InvalidArgument(what + ": " + where.status().message());
  out.where = *where;
  BATON_RETURN_IF_ERROR(ParseTag(source, what, out));
  BATON_RETURN_IF_ERROR(ParseDiscovery(source, what, out));
  BATON_ASSIGN_OR_RETURN(out.username, StringField(source, "username", what + ": source.username"));
  BATON_ASSIGN_OR_RETURN(out.password, StringField(source, "password", what + ": source.password"));
  if (out.username.empty() != out.password.empty()) {
    return InvalidArgument(what + ": source.username and source.password go together");
  }
  BATON_ASSIGN_OR_RETURN(out.insecure, BoolField(source, "insecure", what + ": source.insecure"));
  BATON_ASSIGN_OR_RETURN(out.ca_certs,
                         StringListField(source, "ca_certs", what + ": source.ca_certs"));
  BATON_RETURN_IF_ERROR(ParsePlatform(source, what, out));
  BATON_RETURN_IF_ERROR(ParseMirror(source, what, out));
  return out;
}

}  // namespace baton::workers::resources
