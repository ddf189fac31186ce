// Small helpers shared by the built-in resource types: reading typed fields out of `source` and
// `params`, logging to the step's output, and file I/O returning Status. Thread-safe (stateless).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/files.h"
#include "baton/common/sha256.h"  // Sha256Hex, which resource types use for names and digests
#include "baton/common/status.h"
#include "baton/workers/resource_type.h"

namespace baton::workers::resources {

// A string field, or `fallback` when absent/null. Error when present with another JSON type.
Result<std::string> StringField(const Json& object, const std::string& key, const std::string& what,
                                std::string fallback = "");
// A bool field (false when absent). Accepts true/false and "true"/"false".
Result<bool> BoolField(const Json& object, const std::string& key, const std::string& what);
// A list of strings (empty when absent); a single string is accepted as a one-element list.
Result<std::vector<std::string>> StringListField(const Json& object, const std::string& key,
                                                 const std::string& what);

// Writes a line to the step's output as a Baton (system) message.
void LogLine(const ResourceContext& ctx, std::string_view line);
bool IsCancelled(const ResourceContext& ctx);

using baton::WriteFile;            // baton/common/files.h
using baton::WriteFileAtomically;  // baton/common/files.h
Result<std::string> ReadFile(const std::filesystem::path& path);
// Appends `line` + '\n' and fsyncs.
Status AppendLineDurably(const std::filesystem::path& path, std::string_view line);

// Resolves `rel` inside `root`, refusing absolute paths and paths that escape with "..".
Result<std::filesystem::path> PathInside(const std::filesystem::path& root, const std::string& rel,
                                         const std::string& what);

}  // namespace baton::workers::resources
