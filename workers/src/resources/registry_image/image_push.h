// A put of the registry-image type: an OCI image layout (a directory, or a tarball of one as
// `get` with format: oci, `skopeo copy ... oci-archive:` and oci-build-task with OUTPUT_OCI
// write) or a `docker save` tarball (oci-build-task's default image.tar; docker_archive.h)
// pushed to a registry under one or more tags. Blobs the registry already has are not uploaded
// again.
// Thread-safety: as the RegistryClient given.
#pragma once

#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/resource_type.h"
#include "resources/registry_image/registry_client.h"

namespace baton::workers::resources {

// Unpacks the OCI layout in `tarball` (oci-layout, index.json, blobs/sha256/*) into the empty
// directory `into`, checking each blob against its digest; a `docker save` tarball (no
// index.json, a manifest.json) is converted into one there (DockerSaveToOciLayout).
// `as_written` names the tarball in errors (params.image as the user wrote it).
Status ExtractOciLayout(const std::string& tarball, const std::string& into,
                        const std::string& as_written, const std::string& what);

// Pushes the one image or image index that `layout`'s index.json names: blobs (each HEADed
// first), the index's manifests by digest, then the top manifest under every tag. Returns the
// top manifest's digest.
// REQUIRES: !tags.empty(); client.AskForPush() was called.
Result<std::string> PushOciLayout(RegistryClient& client, const std::string& layout,
                                  const std::vector<std::string>& tags, const ResourceContext& ctx,
                                  const std::string& what);

// The whole put: params.image (glob), tags (source.tag, params.version and the aliases
// params.bump_aliases moves, params.additional_tags), the push.
// Returns {digest} with the metadata `tags`.
Result<FetchedVersion> PutRegistryImage(const ResourceContext& ctx,
                                        const HttpTransportFactory& transports, const Json& source,
                                        const Json& params, const std::string& dir);

}  // namespace baton::workers::resources
