// Strict reading of what a client sends: numbers in a path, query or header, JSON bodies by
// type, and names. Each failure is an InvalidArgument Status naming the field, what it must
// be and what was given, so handlers answer 400 (JsonError) instead of guessing, clamping or
// throwing. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "baton/common/status.h"
#include "baton/pipelines/vars.h"
#include "baton/webapi/http_types.h"

namespace baton::webapi::api {

// A whole base-10 integer within [min, max]: no sign other than a leading '-', no spaces, no
// trailing text. `field` names it in the error ("query parameter `limit`").
Result<int64_t> ParseInteger(std::string_view text, std::string_view field, int64_t min,
                             int64_t max);

// The route parameter `name` as a positive id ("path parameter `version`").
Result<int64_t> PathId(const Request& req, std::string_view name);

// The query parameter `name` within [min, max], or nullopt when absent (or empty).
Result<std::optional<int64_t>> QueryInteger(const Request& req, std::string_view name, int64_t min,
                                            int64_t max);

// The header `name` within [min, max], or nullopt when absent (or empty).
Result<std::optional<int64_t>> HeaderInteger(const Request& req, std::string_view name, int64_t min,
                                             int64_t max);

// The request body as a JSON object. An empty body is an empty object when `empty_ok`.
Result<nlohmann::json> JsonObjectBody(const Request& req, bool empty_ok);

// Optional members of a JSON object body, by type: nullopt when absent or null; an error naming
// `body field `name`` and the expected type when present with another type.
Result<std::optional<bool>> OptionalBool(const nlohmann::json& body, std::string_view name);
Result<std::optional<int64_t>> OptionalInteger(const nlohmann::json& body, std::string_view name);
Result<std::optional<std::string>> OptionalString(const nlohmann::json& body,
                                                  std::string_view name);
Result<std::optional<nlohmann::json>> OptionalObject(const nlohmann::json& body,
                                                     std::string_view name);
// A required string member.
Result<std::string> RequiredString(const nlohmann::json& body, std::string_view name);

// The body of PUT .../config and POST .../config/validate:
//   {"config": "<yaml>", "vars": {...}, "expected_version": N, "paused": bool}
struct ConfigBody {
  std::string yaml;
  pipelines::Vars vars;
  std::optional<int64_t> expected_version;
  std::optional<bool> paused;
};
Result<ConfigBody> ReadConfigBody(const Request& req);  // api_pipelines.cpp

// A team or pipeline name given by a client (`field` names it in the error): Concourse's
// identifier rule (pipelines::IsValidIdentifier) and printable characters only.
Status CheckName(std::string_view name, std::string_view field);

}  // namespace baton::webapi::api
