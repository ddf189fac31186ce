// registry-image, in the spirit of concourse/registry-image-resource:
//  - check: the digest `source.tag` points at now, as {digest}; without `tag`, the tags
//    `tag_regex` finds or the semantic-version tags, as {tag, digest} (image_check.h).
//  - get: the image a version's digest names, as `rootfs/` + metadata.json (env, user) or
//    `image.tar` (OCI layout), with the files digest, tag and repository; `skip_download`.
//  - put: an OCI image tarball pushed under source.tag, params.version (and with
//    params.bump_aliases the aliases it moves) and params.additional_tags.
#include "resources/registry_image/registry_image_resource.h"

#include <filesystem>
#include <functional>
#include <optional>

#include "images/image_cache.h"
#include "resources/registry_image/image_check.h"
#include "resources/registry_image/image_fetch.h"
#include "resources/registry_image/image_manifest.h"
#include "resources/registry_image/image_push.h"
#include "resources/registry_image/image_source.h"
#include "resources/registry_image/registry_client.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

Result<const HttpTransportFactory*> Transports(const ResourceContext& ctx,
                                               const std::string& what) {
  if (ctx.http_transport == nullptr || !*ctx.http_transport) {
    return FailedPrecondition(what +
                              ": this worker has no HTTP client to reach registries (the worker "
                              "was composed without one; use `baton worker` or `quickstart`)");
  }
  return ctx.http_transport;
}

// Runs `op` on the registry mirror first when one applies, then, if the mirror fails, on the
// registry itself (as registry-image does), saying so in the step's log.
Status ViaMirror(const ResourceContext& ctx, const ImageSource& image,
                 const std::function<Status(const ImageSource&)>& op) {
  if (std::optional<ImageSource> mirrored = ThroughMirror(image)) {
    Status s = op(*mirrored);
    if (s.ok() || s.code() == StatusCode::kCancelled) return s;
    LogLine(ctx, "the registry mirror " + mirrored->where.registry + " failed (" + s.message() +
                     "); trying " + image.where.registry + " itself");
  }
  return op(image);
}

// The image cache entry (rootfs/ and metadata.json) of `image` at `digest` in
// ctx.image_cache_dir, pulled and unpacked into it when absent.
Result<std::string> CachedEntry(const ResourceContext& ctx, const ImageSource& image,
                                const std::string& digest, const std::string& what) {
  BATON_ASSIGN_OR_RETURN(const HttpTransportFactory* transports, Transports(ctx, what));
  std::string key = digest.substr(7) + "-" + image.platform_os + "-" + image.platform_architecture +
                    (image.platform_variant.empty() ? "" : "-" + image.platform_variant);
  auto fill = [&](const std::string& dir) -> Status {
    return ViaMirror(ctx, image, [&](const ImageSource& from) -> Status {
      std::error_code ec;
      fs::remove_all(fs::path(dir) / "rootfs", ec);  // what a failed mirror left
      RegistryClient client(*transports, from, what);
      BATON_ASSIGN_OR_RETURN(ResolvedImage resolved, ResolveImage(client, from, digest, what));
      BATON_ASSIGN_OR_RETURN(ImageRunConfig config,
                             UnpackImage(client, resolved, dir + "/rootfs", ctx, what));
      return WriteFile(fs::path(dir) / "metadata.json", RunConfigJson(config));
    });
  };
  bool hit = false;
  BATON_ASSIGN_OR_RETURN(std::string entry, ImageCache(ctx.image_cache_dir).Entry(key, fill, &hit));
  LogLine(ctx,
          image.repository + "@" + digest +
              (hit ? ": from the worker's image cache" : ": pulled into the worker's image cache"));
  return entry;
}

class RegistryImageResource : public ResourceType {
 public:
  Result<std::vector<Json>> Check(const ResourceContext& ctx, const Json& source,
                                  const Json& from) override {
    const std::string what = "registry-image check";
    BATON_ASSIGN_OR_RETURN(ImageSource image, ParseImageSource(source, what));
    BATON_ASSIGN_OR_RETURN(const HttpTransportFactory* transports, Transports(ctx, what));
    std::vector<Json> versions;
    BATON_RETURN_IF_ERROR(ViaMirror(ctx, image, [&](const ImageSource& at) -> Status {
      RegistryClient client(*transports, at, what);
      BATON_ASSIGN_OR_RETURN(versions, CheckImage(ctx, client, at, from));
      // As registry-image: a mirror with nothing for the image is passed over, as a failing one.
      const bool mirror = at.where.registry != image.where.registry;
      if (versions.empty() && mirror) return NotFound("it has no tag to report");
      return Status::Ok();
    }));
    return versions;
  }

  Result<FetchedVersion> Get(const ResourceContext& ctx, const Json& source, const Json& version,
                             const Json& params, const std::string& dir) override {
    const std::string what = "registry-image get";
    BATON_ASSIGN_OR_RETURN(ImageSource image, ParseImageSource(source, what));
    std::string digest = version.is_object() ? version.value("digest", "") : "";
    if (!IsSha256Digest(digest)) {
      return InvalidArgument(what + ": the version " + version.dump() +
                             " has no sha256 `digest` (versions come from check)");
    }
    // A discovered version names its tag ({tag, digest}); the tag file says it, as registry-image.
    Json fetched_version = Json{{"digest", digest}};
    if (version.contains("tag")) {
      image.tag = version["tag"].is_string() ? version["tag"].get<std::string>() : "";
      if (!IsValidTag(image.tag)) {
        return InvalidArgument(what + ": the version " + version.dump() +
                               " has no valid `tag` (versions come from check)");
      }
      fetched_version = Json{{"tag", image.tag}, {"digest", digest}};
    }
    BATON_ASSIGN_OR_RETURN(std::string format,
                           StringField(params, "format", what + ": params.format", "rootfs"));
    if (format != "rootfs" && format != "oci") {
      return InvalidArgument(what + ": params.format is `" + format + "`: use rootfs or oci");
    }
    BATON_ASSIGN_OR_RETURN(bool skip,
                           BoolField(params, "skip_download", what + ": params.skip_download"));
    fs::path out(dir);
    BATON_RETURN_IF_ERROR(WriteFile(out / "digest", digest));
    BATON_RETURN_IF_ERROR(WriteFile(out / "tag", image.tag));
    BATON_RETURN_IF_ERROR(WriteFile(out / "repository", image.repository));
    FetchedVersion fetched{fetched_version, {}};
    if (skip) return fetched;
    BATON_ASSIGN_OR_RETURN(const HttpTransportFactory* transports, Transports(ctx, what));
    if (format == "rootfs" && !ctx.image_cache_dir.empty()) {
      BATON_RETURN_IF_ERROR(GetCached(ctx, image, digest, out, what));
      return fetched;
    }
    BATON_RETURN_IF_ERROR(ViaMirror(ctx, image, [&](const ImageSource& from) -> Status {
      std::error_code ec;
      fs::remove_all(out / "rootfs", ec);  // what a failed mirror left
      RegistryClient client(*transports, from, what);
      BATON_ASSIGN_OR_RETURN(ResolvedImage resolved, ResolveImage(client, from, digest, what));
      if (format == "oci")
        return WriteOciTarball(client, resolved, from.tag, (out / "image.tar").string(), ctx, what);
      BATON_ASSIGN_OR_RETURN(ImageRunConfig config,
                             UnpackImage(client, resolved, (out / "rootfs").string(), ctx, what));
      return WriteFile(out / "metadata.json", RunConfigJson(config));
    }));
    return fetched;
  }

  // A task's image: the worker's cache entry is filled (on first use), and metadata.json is
  // copied beside the digest. No rootfs/ here: the task names the image by source and digest,
  // and the worker that runs it takes the root from its own cache (a link would name a path on
  // this worker, which another machine cannot follow).
  static Status GetCached(const ResourceContext& ctx, const ImageSource& image,
                          const std::string& digest, const fs::path& out, const std::string& what) {
    BATON_ASSIGN_OR_RETURN(std::string entry, CachedEntry(ctx, image, digest, what));
    BATON_ASSIGN_OR_RETURN(std::string metadata, ReadFile(fs::path(entry) / "metadata.json"));
    return WriteFile(out / "metadata.json", metadata);
  }
  Result<FetchedVersion> Put(const ResourceContext& ctx, const Json& source, const Json& params,
                             const std::string& dir) override {
    BATON_ASSIGN_OR_RETURN(const HttpTransportFactory* transports,
                           Transports(ctx, "registry-image put"));
    return PutRegistryImage(ctx, *transports, source, params, dir);
  }
};

}  // namespace

std::unique_ptr<ResourceType> MakeRegistryImageResourceType() {
  return std::make_unique<RegistryImageResource>();
}

Result<std::string> CachedRegistryImage(const ResourceContext& ctx, const Json& source,
                                        const std::string& digest) {
  const std::string what = "registry-image get";
  BATON_ASSIGN_OR_RETURN(ImageSource image, ParseImageSource(source, what));
  if (!IsSha256Digest(digest)) {
    return InvalidArgument(what + ": `" + digest + "` is not a sha256 digest");
  }
  return CachedEntry(ctx, image, digest, what);
}

}  // namespace baton::workers::resources
