// How a resource's `type` turns into something a Worker can run: a built-in type, or a custom
// `resource_types` entry whose image holds Concourse's /opt/resource/{check,in,out}.
//
// A custom type whose own `type` is a built-in with `source.mirror_self: true` (what Concourse's
// testflight does with `type: mock`) runs as that built-in; one whose image is a `rootfs`
// (`source.path`) runs the protocol scripts in that root filesystem; one whose image is a
// registry-image or docker-image gets ResourceRun::custom_type_image (the worker pulls it).
// Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/workers/worker.h"

namespace baton::runner {

// Sets run.type / run.custom_type_rootfs / run.custom_type_image / run.privileged for a resource
// of `type`, as Concourse reads a `resource_types` entry: its `defaults` are merged under
// run.source (the resource's own keys win), its `tags` are added to run.placement.tags (call
// after setting the step's own), its `check_every` says how long the digest found for its image
// is reused (run.custom_type_check_every), and its `params` are those of the get of its image
// (which must stay a rootfs). Errors name the type and what to do.
Status ResolveResourceType(const std::vector<pipelines::ResourceType>& types,
                           const std::string& type, workers::ResourceRun& run);

}  // namespace baton::runner
