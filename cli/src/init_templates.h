// The files `baton init` writes, embedded from samples/ at build time (cli/CMakeLists.txt,
// cmake/embed_files.cmake). Immutable; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace baton::cli {

struct InitTemplate {
  const char* path;     // "<kind>/<path in the project>", e.g. "cmake/ci/tasks/compile.yml"
  const char* content;  // with @NAME@, @BRANCH@, @APP@ ... placeholders where it has them
  int mode;             // 0755 for scripts
};

const std::vector<InitTemplate>& InitTemplates();

}  // namespace baton::cli
