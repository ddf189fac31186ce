// TaskConfig: the typed form of a Concourse task config (a `config:` block or a `file:`).
// Immutable value after loading; thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baton/common/json.h"
#include "baton/pipelines/diagnostics.h"

namespace baton::pipelines {

struct ImageResource {
  std::string type;  // "registry-image", "docker-image", "mock", "rootfs", ...
  Json source = Json::object();
  Json params = Json::object();
  Json version;  // null or an object
  SourceMark mark;
};

struct TaskInput {
  std::string name;
  std::string path;  // defaults to name
  bool optional = false;
  SourceMark mark;
};

struct TaskOutput {
  std::string name;
  std::string path;  // defaults to name
  SourceMark mark;
};

struct TaskCache {
  std::string path;
  SourceMark mark;
};

struct RunConfig {
  std::string path;
  std::vector<std::string> args;
  std::string dir;
  std::string user;
  SourceMark mark;
};

struct ContainerLimits {
  std::optional<int64_t> cpu;     // CPU shares, as in Concourse
  std::optional<int64_t> memory;  // bytes ("1GB" etc. are parsed to bytes)
};

struct TaskConfig {
  std::string platform;  // "linux" when empty
  std::optional<ImageResource> image_resource;
  std::string rootfs_uri;
  std::vector<TaskInput> inputs;
  std::vector<TaskOutput> outputs;
  std::vector<TaskCache> caches;
  // Environment for the process. Values are kept as JSON (strings, numbers, maps); the worker
  // turns non-strings into their JSON text, as Concourse does.
  std::map<std::string, Json> params;
  RunConfig run;
  std::optional<ContainerLimits> container_limits;
  bool hermetic = false;  // Baton extension: no network namespace access when true
  SourceMark mark;
};

}  // namespace baton::pipelines
