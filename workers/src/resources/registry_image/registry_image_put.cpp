// registry-image put, as concourse/registry-image-resource's out: params.image (a glob matching
// exactly one OCI image tarball or layout directory, or a docker save tarball) pushed as
// source.tag, as params.version (with params.bump_aliases, also as the alias tags that version
// moves: image_version.h) and as every tag in the file params.additional_tags names; the version is
// the pushed {digest}.
#include <glob.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>

#include "baton/common/strings.h"
#include "resources/registry_image/image_push.h"
#include "resources/registry_image/image_source.h"
#include "resources/registry_image/image_version.h"
#include "resources/registry_image/registry_client.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

// The one path `pattern` (inside `dir`) matches.
Result<fs::path> OneImage(const std::string& dir, const std::string& pattern,
                          const std::string& what) {
  BATON_ASSIGN_OR_RETURN(fs::path full, PathInside(dir, pattern, what + ": params.image"));
  glob_t found{};
  int rc = glob(full.c_str(), 0, nullptr, &found);
  std::vector<std::string> matches(found.gl_pathv, found.gl_pathv + (rc == 0 ? found.gl_pathc : 0));
  globfree(&found);
  if (matches.size() == 1) return fs::path(matches[0]);
  std::vector<std::string> names;
  for (const auto& m : matches) names.push_back(fs::path(m).lexically_relative(dir).string());
  return InvalidArgument(
      what + ": params.image `" + pattern + "` matches " +
      (matches.empty() ? std::string("no file") : Join(names, ", ")) +
      ": it must match exactly one image tarball (e.g. image/image.tar from the task that "
      "built it; check the task's outputs)");
}

// Adds `tag` unless it is there already.
void AddTag(std::vector<std::string>& tags, const std::string& tag) {
  if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
}

// The tag params.version names (with source.variant as a suffix), and the version read; nullopt
// without params.version.
struct VersionTag {
  SemanticVersion version;
  std::string tag;
};
Result<std::optional<VersionTag>> ParseVersionTag(const ImageSource& image, const Json& params,
                                                  const std::string& what) {
  BATON_ASSIGN_OR_RETURN(std::string text,
                         StringField(params, "version", what + ": params.version"));
  if (text.empty()) return std::optional<VersionTag>();
  std::optional<SemanticVersion> version = ParseSemanticVersion(text);
  if (!version) {
    return InvalidArgument(what + ": params.version `" + text +
                           "` is not a semantic version (MAJOR[.MINOR[.PATCH]][-PRERELEASE], "
                           "e.g. 1.2.3 or 2.0.0-rc.1)");
  }
  std::string tag = version->ToString() + (image.variant.empty() ? "" : "-" + image.variant);
  if (!IsValidTag(tag)) {
    return InvalidArgument(what + ": params.version `" + text + "` makes the tag `" + tag +
                           "`, which is not a valid tag (up to 128 letters, digits, '_', '.', "
                           "'-'; a `+build` part cannot be a tag: leave it out)");
  }
  return std::optional<VersionTag>(VersionTag{*version, tag});
}

// The tags in the params.additional_tags file (whitespace-separated), added to `tags`.
Status AddAdditionalTags(const Json& params, const std::string& dir, const std::string& what,
                         std::vector<std::string>& tags) {
  BATON_ASSIGN_OR_RETURN(std::string file,
                         StringField(params, "additional_tags", what + ": params.additional_tags"));
  if (file.empty()) return Status::Ok();
  BATON_ASSIGN_OR_RETURN(fs::path path, PathInside(dir, file, what + ": params.additional_tags"));
  auto text = ReadFile(path);
  if (!text.ok()) {
    return InvalidArgument(what + ": params.additional_tags `" + file +
                           "` cannot be read: " + text.status().message());
  }
  std::istringstream words(*text);
  for (std::string tag; words >> tag;) {
    if (!IsValidTag(tag)) {
      return InvalidArgument(what + ": params.additional_tags `" + file + "` holds `" + tag +
                             "`, which is not a valid tag (up to 128 letters, digits, '_', '.', "
                             "'-'; not starting with '.' or '-')");
    }
    AddTag(tags, tag);
  }
  return Status::Ok();
}

// A directory removed with everything in it when it goes out of scope.
class ScratchDir {
 public:
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  Status Make(const std::string& what) {
    std::string tmpl = (fs::temp_directory_path() / "baton-push-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      return IoError(what + ": cannot make a scratch directory under " + tmpl);
    path_ = tmpl;
    return Status::Ok();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

Result<FetchedVersion> PutRegistryImage(const ResourceContext& ctx,
                                        const HttpTransportFactory& transports, const Json& source,
                                        const Json& params, const std::string& dir) {
  const std::string what = "registry-image put";
  BATON_ASSIGN_OR_RETURN(ImageSource image, ParseImageSource(source, what));
  BATON_ASSIGN_OR_RETURN(std::string pattern,
                         StringField(params, "image", what + ": params.image"));
  if (pattern.empty()) {
    return InvalidArgument(what +
                           ": params.image is required: the path of the image "
                           "tarball to push, e.g. image/image.tar");
  }
  BATON_ASSIGN_OR_RETURN(fs::path found, OneImage(dir, pattern, what));
  BATON_ASSIGN_OR_RETURN(std::optional<VersionTag> version, ParseVersionTag(image, params, what));
  BATON_ASSIGN_OR_RETURN(bool bump_aliases,
                         BoolField(params, "bump_aliases", what + ": params.bump_aliases"));
  if (bump_aliases && !version) {
    return InvalidArgument(what +
                           ": params.bump_aliases needs params.version: the aliases it moves "
                           "(1.2, 1, latest) are those of the version pushed");
  }
  std::vector<std::string> additional;
  BATON_RETURN_IF_ERROR(AddAdditionalTags(params, dir, what, additional));
  ScratchDir scratch;
  std::string layout = found.string();
  if (!fs::is_directory(found)) {
    BATON_RETURN_IF_ERROR(scratch.Make(what));
    BATON_RETURN_IF_ERROR(ExtractOciLayout(found.string(), scratch.path(), pattern, what));
    layout = scratch.path();
  }
  RegistryClient client(transports, image, what);
  client.AskForPush();
  std::vector<std::string> aliases;
  if (bump_aliases && version->version.prerelease.empty()) {
    BATON_ASSIGN_OR_RETURN(std::vector<std::string> existing, client.ListTags());
    aliases = AliasTagsToBump(version->version, image.variant, existing);
    LogLine(ctx, "params.bump_aliases: " + version->tag + " moves " +
                     (aliases.empty() ? std::string("no alias (later versions are there)")
                                      : Join(aliases, ", ")));
  }
  // source.tag, the version and its aliases, the additional tags. With a version, as
  // registry-image has it, source.tag is pushed only when it was set (not the default `latest`).
  std::vector<std::string> tags;
  if (!version || image.tag_given) tags.push_back(image.tag);
  if (version) AddTag(tags, version->tag);
  for (const auto& tag : aliases) AddTag(tags, tag);
  for (const auto& tag : additional) AddTag(tags, tag);
  BATON_ASSIGN_OR_RETURN(std::string digest, PushOciLayout(client, layout, tags, ctx, what));
  // As the check reports this source's versions: with the first tag pushed when they name it.
  Json pushed = image.VersionsNameTheirTag() ? Json{{"tag", tags.front()}, {"digest", digest}}
                                             : Json{{"digest", digest}};
  return FetchedVersion{std::move(pushed), {{"tags", Join(tags, " ")}}};
}

}  // namespace baton::workers::resources
