#include "baton/runner/resource_types.h"

#include <algorithm>
#include <optional>

#include "baton/common/duration.h"
#include "baton/workers/resource_type.h"

namespace baton::runner {
namespace {

bool IsBuiltin(const std::string& type) {
  for (const auto& name : workers::BuiltinResourceTypeNames()) {
    if (name == type) return true;
  }
  return false;
}

const pipelines::ResourceType* Find(const std::vector<pipelines::ResourceType>& types,
                                    const std::string& name) {
  for (const auto& t : types) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

void MergeDefaults(const Json& defaults, Json& source) {
  if (!defaults.is_object()) return;
  if (!source.is_object()) source = Json::object();
  for (const auto& [key, value] : defaults.items()) {
    if (!source.contains(key)) source[key] = value;
  }
}

// The type's `tags` choose the worker its image runs on: Baton checks and runs a type's image on
// the worker of the step, so that worker needs the step's tags and the type's.
void AddTags(const std::vector<std::string>& tags, workers::ResourceRun& run) {
  for (const auto& tag : tags) {
    auto& have = run.placement.tags;
    if (std::find(have.begin(), have.end(), tag) == have.end()) have.push_back(tag);
  }
}

// How long a digest found for the type's image is reused (Concourse's check_every of a type:
// 1m by default, `never`). Validated when the pipeline loaded.
std::optional<Duration> ImageCheckEvery(const pipelines::ResourceType& type) {
  if (type.check_every == "never") return std::nullopt;
  auto every = ParseDuration(type.check_every);
  if (type.check_every.empty() || !every.ok() || *every <= Duration::zero()) {
    return std::chrono::minutes(1);
  }
  return *every;
}

// A type's `params` go to the get of its image, as on Concourse; the image must come out as a
// root filesystem to run /opt/resource/* in, so params that ask for anything else are refused.
Status CheckImageParams(const pipelines::ResourceType& type) {
  const Json& params = type.params;
  if (!params.is_object()) return Status::Ok();
  auto format = params.find("format");
  if (format != params.end() && *format != "rootfs") {
    return InvalidArgument("resource type `" + type.name + "`: params.format is " + format->dump() +
                           ", but a type's image runs as a root filesystem; remove params.format "
                           "or set it to rootfs");
  }
  auto skip = params.find("skip_download");
  if (skip != params.end() && *skip == true) {
    return InvalidArgument("resource type `" + type.name +
                           "`: params.skip_download is true, but the type's scripts run in its "
                           "image; remove params.skip_download");
  }
  return Status::Ok();
}

}  // namespace

Status ResolveResourceType(const std::vector<pipelines::ResourceType>& types,
                           const std::string& type, workers::ResourceRun& run) {
  const pipelines::ResourceType* custom = Find(types, type);
  // A custom type may shadow a built-in of the same name only when it is more than a mirror.
  for (int depth = 0; custom && depth < 8; ++depth) {
    MergeDefaults(custom->defaults, run.source);
    run.privileged = run.privileged || custom->privileged;
    AddTags(custom->tags, run);
    const std::string& image_type = custom->type;
    if (custom->source.value("mirror_self", false) && IsBuiltin(image_type)) {
      run.type = image_type;
      return Status::Ok();
    }
    if (image_type == "rootfs") {
      std::string path = custom->source.value("path", "");
      if (path.empty()) {
        return InvalidArgument("resource type `" + custom->name +
                               "`: a rootfs image needs source.path (a directory holding "
                               "opt/resource/check, in and out)");
      }
      run.type = custom->name;
      run.custom_type_rootfs = workers::RootfsSpec{workers::RootfsSpec::Kind::kDirectory, path};
      return Status::Ok();
    }
    if (image_type == "registry-image" || image_type == "docker-image") {
      BATON_RETURN_IF_ERROR(CheckImageParams(*custom));
      run.type = custom->name;  // the worker pulls the image and runs /opt/resource/* on it
      run.custom_type_image = custom->source;
      run.custom_type_check_every = ImageCheckEvery(*custom);
      return Status::Ok();
    }
    const pipelines::ResourceType* next = Find(types, image_type);
    if (!next) break;
    custom = next;
  }
  if (custom) {
    return FailedPrecondition("resource type `" + custom->name + "` has an image of type `" +
                              custom->type + "` that Baton cannot run; use a built-in type (" +
                              "git, time, mock, artifact) or `type: rootfs`");
  }
  if (!IsBuiltin(type)) {
    return NotFound("unknown resource type `" + type +
                    "`: declare it under resource_types or use a built-in type");
  }
  run.type = type;
  return Status::Ok();
}

}  // namespace baton::runner
