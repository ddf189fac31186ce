// Baton's one JSON type: nlohmann::json under the name every module uses (`baton::Json`), so
// resource versions, plans, events and API bodies are one type across module boundaries.
#pragma once

#include <nlohmann/json.hpp>

namespace baton {

using Json = nlohmann::json;

}  // namespace baton
