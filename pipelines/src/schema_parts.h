// Building blocks of the JSON Schemas in schema.h. Private to pipelines/. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "baton/common/json.h"

namespace baton::pipelines::schema {

// {"$ref": "#/$defs/<name>"}
Json Ref(std::string_view name);
// `schema`, or a string that is exactly one ((var)) reference.
Json OrVar(Json schema);
Json Describe(Json schema, std::string_view description);

Json String(std::string_view description);
Json Enum(std::vector<std::string> values, std::string_view description);  // or a ((var))
Json Bool(std::string_view description);
Json Int(std::string_view description, int minimum);
Json StringList(std::string_view description);
Json StringMap(std::string_view description);
Json FreeMap(std::string_view description);  // any map (source, params, vars)
Json Duration(std::string_view description);
Json ListOf(Json item, std::string_view description);
// A closed object: only `properties` are allowed; `required` must be present.
Json Object(Json properties, std::vector<std::string> required, std::string_view description);

// The $defs shared by both schemas: `var` and the task config (`task_config` and its parts).
void AddTaskDefs(Json& defs);
// The $defs of steps: `step`, `step_modifiers` and one per core step.
void AddStepDefs(Json& defs);

}  // namespace baton::pipelines::schema
