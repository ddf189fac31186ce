#include "resources/cf/cf_manifest.h"

#include <yaml-cpp/yaml.h>

#include "baton/pipelines/vars.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

Json ScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: always a string
  if (text == "true" || text == "false") return text == "true";
  if (text == "~" || text == "null") return nullptr;
  if (!text.empty() && text.find_first_not_of("-0123456789") == std::string::npos &&
      text.find('-', 1) == std::string::npos && text != "-") {
    // Only when the number reads back as written: 0123 or +5 stay strings, as written.
    try {
      long long n = std::stoll(text);
      if (std::to_string(n) == text) return n;
    } catch (const std::exception&) {
    }
  }
  return text;
}

Json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = YamlToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    default:
      return nullptr;
  }
}

void EmitJson(YAML::Emitter& out, const Json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << key << YAML::Value;
      EmitJson(out, item);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (const Json& item : value) EmitJson(out, item);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << value.get<std::string>();
  } else if (value.is_null()) {
    out << YAML::Null;
  } else {
    out << value.dump();
  }
}

Result<Json> ReadYaml(const std::filesystem::path& file, const std::string& what) {
  BATON_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
  try {
    return YamlToJson(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(what + " " + file.string() + " is not valid YAML: " + e.what());
  }
}

Result<pipelines::Vars> ManifestVars(const CfManifestInput& input) {
  pipelines::Vars vars;
  for (const auto& file : input.vars_files) {
    Status st = vars.AddFile(file.string());
    if (!st.ok()) return InvalidArgument("vars_files: " + st.ToString());
  }
  if (!input.vars.is_object()) return InvalidArgument("params.vars must be a map");
  for (const auto& [name, value] : input.vars.items()) vars.Set(name, value);
  return vars;
}

Status MergeEnvironment(Json& app, const Json& env) {
  if (!env.is_object()) return InvalidArgument("params.environment_variables must be a map");
  if (!app.contains("env") || !app["env"].is_object()) app["env"] = Json::object();
  for (const auto& [name, value] : env.items()) {
    app["env"][name] = value.is_string() ? value : Json(value.dump());
  }
  return Status::Ok();
}

std::string FirstRoute(const Json& app) {
  if (!app.contains("routes") || !app["routes"].is_array() || app["routes"].empty()) return "";
  const Json& r = app["routes"][0];
  return r.is_object() ? r.value("route", "") : "";
}

}  // namespace

Result<CfManifest> LoadCfManifest(const CfManifestInput& input) {
  BATON_ASSIGN_OR_RETURN(Json doc, ReadYaml(input.file, "manifest"));
  BATON_ASSIGN_OR_RETURN(pipelines::Vars vars, ManifestVars(input));
  std::vector<std::string> unresolved;
  doc = pipelines::InterpolateJson(doc, vars, &unresolved);
  if (!unresolved.empty()) {
    std::string names;
    for (const auto& u : unresolved) names += (names.empty() ? "" : ", ") + u;
    return InvalidArgument("manifest " + input.file.string() + ": no value for ((" + names +
                           ")) in params.vars or params.vars_files");
  }
  if (!doc.is_object() || !doc.contains("applications") || !doc["applications"].is_array() ||
      doc["applications"].size() != 1 || !doc["applications"][0].is_object()) {
    return InvalidArgument("manifest " + input.file.string() +
                           " must list exactly one application (use one put per app)");
  }
  Json& app = doc["applications"][0];
  if (!input.current_app_name.empty()) app["name"] = input.current_app_name;
  if (!app.contains("name") || !app["name"].is_string() || app["name"].get<std::string>().empty()) {
    return InvalidArgument("manifest " + input.file.string() + ": the application has no name");
  }
  BATON_RETURN_IF_ERROR(MergeEnvironment(app, input.environment_variables));
  // Like `cf push`: an app whose manifest names no routes gets the default route
  // (<name>.<default domain>); Cloud Controller maps none unless asked.
  bool routes = app.contains("routes") && app["routes"].is_array() && !app["routes"].empty();
  if (!routes && !app.contains("no-route") && !app.contains("random-route") &&
      !app.contains("default-route")) {
    app["default-route"] = true;
  }
  CfManifest out;
  out.app_name = app["name"].get<std::string>();
  out.path = app.value("path", "");
  app.erase("path");
  out.route = FirstRoute(app);
  if (app.contains("docker") && app["docker"].is_object()) {
    out.docker_image = app["docker"].value("image", "");
    out.docker_username = app["docker"].value("username", "");
  }
  out.document = std::move(doc);
  return out;
}

std::string CfManifestYaml(const CfManifest& manifest) {
  YAML::Emitter out;
  out << YAML::BeginDoc;
  EmitJson(out, manifest.document);
  return std::string(out.c_str()) + "\n";
}

}  // namespace baton::workers::resources
