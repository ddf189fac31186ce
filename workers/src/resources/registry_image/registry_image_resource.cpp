// registry-image, in the spirit of concourse/registry-image-resource:
//  - check: the digest `source.tag` points at now; versions are {digest} as in Concourse.
//  - get, put: not yet (they say so).
#include "resources/registry_image/registry_image_resource.h"

#include "resources/registry_image/image_source.h"
#include "resources/registry_image/registry_client.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

Result<const HttpTransportFactory*> Transports(const ResourceContext& ctx,
                                               const std::string& what) {
  if (ctx.http_transport == nullptr || !*ctx.http_transport) {
    return FailedPrecondition(what +
                              ": this worker has no HTTP client to reach registries (the worker "
                              "was composed without one; use `baton worker` or `quickstart`)");
  }
  return ctx.http_transport;
}

class RegistryImageResource : public ResourceType {
 public:
  Result<std::vector<Json>> Check(const ResourceContext& ctx, const Json& source,
                                  const Json& /*from*/) override {
    const std::string what = "registry-image check";
    BATON_ASSIGN_OR_RETURN(ImageSource image, ParseImageSource(source, what));
    BATON_ASSIGN_OR_RETURN(const HttpTransportFactory* transports, Transports(ctx, what));
    RegistryClient client(*transports, image, what);
    BATON_ASSIGN_OR_RETURN(FetchedManifest manifest, client.GetManifest(image.tag));
    LogLine(ctx, client.ImageName() + ":" + image.tag + " is " + manifest.digest);
    // Only the tag's current digest, as registry-image's check does with `tag` set.
    return std::vector<Json>{Json{{"digest", manifest.digest}}};
  }

  Result<FetchedVersion> Get(const ResourceContext&, const Json&, const Json&, const Json&,
                             const std::string&) override {
    return FailedPrecondition("registry-image get: fetching images is not supported yet");
  }

  Result<FetchedVersion> Put(const ResourceContext&, const Json&, const Json&,
                             const std::string&) override {
    return FailedPrecondition("registry-image put: pushing images is not supported yet");
  }
};

}  // namespace

std::unique_ptr<ResourceType> MakeRegistryImageResourceType() {
  return std::make_unique<RegistryImageResource>();
}

}  // namespace baton::workers::resources
