// One line of the metadata a resource reports with a version (`check`, `get`, `put`), as
// Concourse shows it beside the version: a name and a value, in the order the resource gave them.
//
// It lives in common because both the workers that produce it and the pure build engine that
// passes it on (runner/core) use it, and the engine must not depend on workers.
//
// Value; thread-compatible.
#pragma once

#include <string>

namespace baton {

struct MetadataField {
  std::string name;
  std::string value;
};

}  // namespace baton
