// Turning a loaded pipeline into what the Store saves on set-pipeline (and on `baton run`).
#pragma once

#include <string>

#include "baton/pipelines/pipeline_config.h"
#include "baton/pipelines/vars.h"
#include "baton/runner/store_pipelines.h"

namespace baton::runner {

// Jobs and resources of `config` as store specs; resources keyed by a stable hash of their
// type and source (versions are kept per source, as Concourse does). Pure.
PipelineUpdate MakePipelineUpdate(const std::string& team, const std::string& name,
                                  const std::string& yaml, const pipelines::Vars& vars,
                                  const pipelines::PipelineConfig& config);

// A stable 64-bit FNV-1a hash in hex, of the resource's type and canonical source JSON.
std::string SourceHash(const std::string& type, const Json& source);

}  // namespace baton::runner
