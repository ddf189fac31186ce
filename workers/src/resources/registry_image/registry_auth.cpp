#include "resources/registry_image/registry_auth.h"

#include <cctype>
#include <utility>
#include <vector>

#include "baton/common/json.h"
#include "baton/common/strings.h"
#include "baton/net/http_types.h"

namespace baton::workers::resources {

std::string Challenge::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

Challenge ParseChallenge(std::string_view header) {
  Challenge out;
  header = Trim(header);
  size_t space = header.find(' ');
  out.scheme = std::string(header.substr(0, space));
  for (auto& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (space == std::string_view::npos) return out;
  std::string_view rest = header.substr(space + 1);
  while (!rest.empty()) {
    rest = Trim(rest);
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    std::string key(Trim(rest.substr(0, eq)));
    rest = rest.substr(eq + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      size_t end = rest.find('"', 1);
      value = std::string(rest.substr(1, end == std::string_view::npos ? end : end - 1));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    } else {
      size_t comma = rest.find(',');
      value = std::string(Trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma);
    }
    out.params[key] = value;
    size_t comma = rest.find(',');
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return out;
}

std::string TokenUrl(const Challenge& challenge, const std::string& scope,
                     const std::string& account) {
  std::string url = challenge.Param("realm");
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    url += sep + std::string(key) + "=" + net::PercentEncode(value);
    sep = '&';
  };
  add("service", challenge.Param("service"));
  add("scope", scope);
  add("account", account);
  return url;
}

std::string TokenFromAnswer(const std::string& body) {
  Json answer = Json::parse(body, nullptr, false);
  if (!answer.is_object()) return "";
  for (const char* key : {"token", "access_token"}) {
    auto it = answer.find(key);
    if (it != answer.end() && it->is_string() && !it->get<std::string>().empty()) return *it;
  }
  return "";
}

namespace {

// The entries of a registry's `{"errors":[{"code","message"}, ...]}`, as (code, message).
std::vector<std::pair<std::string, std::string>> RegistryErrors(const Json& body) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!body.is_object() || !body.contains("errors") || !body["errors"].is_array()) return out;
  for (const auto& e : body["errors"]) {
    if (e.is_object()) out.emplace_back(e.value("code", ""), e.value("message", ""));
  }
  return out;
}

}  // namespace

bool HasRegistryError(const HttpResponse& response, std::string_view code) {
  for (const auto& [c, message] : RegistryErrors(Json::parse(response.body, nullptr, false))) {
    if (c == code) return true;
  }
  return false;
}

std::string ServiceMessage(const HttpResponse& response) {
  Json body = Json::parse(response.body, nullptr, false);
  std::vector<std::string> parts;
  for (const auto& [code, message] : RegistryErrors(body))
    parts.push_back(code.empty() ? message : code + ": " + message);
  for (const char* key : {"details", "error"}) {
    if (parts.empty() && body.is_object() && body.contains(key) && body[key].is_string())
      parts.push_back(body[key]);
  }
  if (!parts.empty()) return Join(parts, "; ");
  return std::string(Trim(response.body.substr(0, 200)));
}

}  // namespace baton::workers::resources
