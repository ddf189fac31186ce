#include "baton/runner/resource_types.h"

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

}  // namespace

Status ResolveResourceType(const std::vector<pipelines::ResourceType>& types,
                           const std::string& type, workers::ResourceRun& run) {
  const pipelines::ResourceType* custom = Find(types, type);
  // A custom type may shadow a built-in of the same name only when it is more than a mirror.
  for (int depth = 0; custom && depth < 8; ++depth) {
    MergeDefaults(custom->defaults, run.source);
    run.privileged = run.privileged || custom->privileged;
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
      run.type = custom->name;  // the worker pulls the image and runs /opt/resource/* on it
      run.custom_type_image = custom->source;
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
