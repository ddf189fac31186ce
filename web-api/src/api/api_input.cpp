#include "api_input.h"

#include <charconv>

#include "baton/common/json.h"
#include "baton/common/strings.h"
#include "baton/pipelines/validate.h"

namespace baton::webapi::api {
namespace {

// `text` quoted for a message, with control characters escaped and long values cut.
std::string Shown(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text.substr(0, 64)) {
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (text.size() > 64 ? "...\"" : "\"");
}

const char* TypeName(const Json& value) {
  if (value.is_boolean()) return "a boolean";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "a list";
  if (value.is_object()) return "an object";
  return "null";
}

Status WrongType(std::string_view name, const char* expected, const Json& value) {
  return InvalidArgument("body field `" + std::string(name) + "` must be " + expected + ", got " +
                         TypeName(value) + " (" + value.dump().substr(0, 64) + ")");
}

// The member `name`, or null when absent.
const Json* Member(const Json& body, std::string_view name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Result<int64_t> ParseInteger(std::string_view text, std::string_view field, int64_t min,
                             int64_t max) {
  int64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  std::string range = " between " + std::to_string(min) + " and " + std::to_string(max);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) {
    return InvalidArgument(std::string(field) + " must be a whole number" + range + ", got " +
                           Shown(text));
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    return InvalidArgument(std::string(field) + " must be" + range + ", got " + Shown(text));
  }
  return value;
}

Result<int64_t> PathId(const Request& req, std::string_view name) {
  return ParseInteger(req.Param(name), "path parameter `" + std::string(name) + "`", 1, INT64_MAX);
}

Result<std::optional<int64_t>> QueryInteger(const Request& req, std::string_view name, int64_t min,
                                            int64_t max) {
  auto value = req.Query(name);
  if (!value || value->empty()) return std::optional<int64_t>();
  BATON_ASSIGN_OR_RETURN(
      int64_t n, ParseInteger(*value, "query parameter `" + std::string(name) + "`", min, max));
  return std::optional<int64_t>(n);
}

Result<std::optional<int64_t>> HeaderInteger(const Request& req, std::string_view name, int64_t min,
                                             int64_t max) {
  auto value = req.headers.Get(name);
  if (!value || value->empty()) return std::optional<int64_t>();
  BATON_ASSIGN_OR_RETURN(int64_t n, ParseInteger(*value, "header " + std::string(name), min, max));
  return std::optional<int64_t>(n);
}

Result<Json> JsonObjectBody(const Request& req, bool empty_ok) {
  if (empty_ok && Trim(req.body).empty()) return Json::object();
  Json body;
  try {
    body = Json::parse(req.body);
  } catch (const Json::parse_error& e) {
    return InvalidArgument("the request body is not valid JSON: error at byte " +
                           std::to_string(e.byte) + "; send a JSON object");
  }
  if (!body.is_object()) {
    return InvalidArgument(std::string("the request body must be a JSON object, got ") +
                           TypeName(body));
  }
  return body;
}

Result<std::optional<bool>> OptionalBool(const Json& body, std::string_view name) {
  const Json* v = Member(body, name);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean()) return WrongType(name, "a boolean (true or false)", *v);
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<int64_t>> OptionalInteger(const Json& body, std::string_view name) {
  const Json* v = Member(body, name);
  if (!v) return std::optional<int64_t>();
  if (!v->is_number_integer()) return WrongType(name, "a whole number", *v);
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)) {
    return WrongType(name, "a whole number below 2^63", *v);
  }
  return std::optional<int64_t>(v->get<int64_t>());
}

Result<std::optional<std::string>> OptionalString(const Json& body, std::string_view name) {
  const Json* v = Member(body, name);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(name, "a string", *v);
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<Json>> OptionalObject(const Json& body, std::string_view name) {
  const Json* v = Member(body, name);
  if (!v) return std::optional<Json>();
  if (!v->is_object()) return WrongType(name, "an object", *v);
  return std::optional<Json>(*v);
}

Result<std::string> RequiredString(const Json& body, std::string_view name) {
  BATON_ASSIGN_OR_RETURN(auto value, OptionalString(body, name));
  if (!value)
    return InvalidArgument("body field `" + std::string(name) + "` is required (a string)");
  return std::move(*value);
}

Status CheckName(std::string_view name, std::string_view field) {
  if (pipelines::IsValidIdentifier(name)) return Status::Ok();
  return InvalidArgument(std::string(field) + " " + Shown(name) +
                         " is not a valid name: use lowercase letters, digits, `-`, `_` and "
                         "`.`, starting with a letter (Concourse's identifier rule)");
}

}  // namespace baton::webapi::api
