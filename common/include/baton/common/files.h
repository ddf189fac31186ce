// Whole-file writes returning Status: the built-in resource types' files and the resource
// caches' entries. Thread-safe (system calls only).
#pragma once

#include <filesystem>
#include <string_view>

#include "baton/common/status.h"

namespace baton {

// Writes `content` as `path` (created 0666 less the umask, or truncated), its parent directories
// made if missing.
Status WriteFile(const std::filesystem::path& path, std::string_view content);
// Writes `content` beside `path`, then renames it over `path`: the name never holds half of it.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content);

}  // namespace baton
