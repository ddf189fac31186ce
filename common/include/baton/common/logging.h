// One named spdlog logger per module. cli/ configures sinks and level; libraries only fetch.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace baton {

// Returns the logger for `module` ("runner", "workers", ...), creating a stderr logger if the
// composition root has not configured one. Thread-safe.
std::shared_ptr<spdlog::logger> ModuleLogger(const std::string& module);

// Sets the level of every module logger ("trace".."off"). Returns false on an unknown level.
bool SetLogLevel(const std::string& level);

}  // namespace baton
