#include "client/targets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace baton::cli {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

Target TargetFromNode(const std::string& name, const YAML::Node& node) {
  Target t;
  t.name = name;
  if (node["url"]) t.url = TrimSlash(node["url"].as<std::string>());
  if (node["team"]) t.team = node["team"].as<std::string>();
  if (node["token"]) t.token = node["token"].as<std::string>();
  return t;
}

std::string Render(const std::map<std::string, Target>& targets) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "targets" << YAML::Value << YAML::BeginMap;
  for (const auto& [name, t] : targets) {
    out << YAML::Key << name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "url" << YAML::Value << t.url;
    out << YAML::Key << "team" << YAML::Value << t.team;
    out << YAML::Key << "token" << YAML::Value << t.token;
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

// Writes `text` to a 0600 temporary file beside `path`, then renames it over `path`.
Status WritePrivateFile(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot write " + tmp + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  ssize_t written = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size())) return IoError("cannot write " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return IoError("cannot replace " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

std::string TargetsFilePath() {
  if (std::string rc = Env("BATONRC"); !rc.empty()) return rc;
  std::string home = Env("HOME");
  return (home.empty() ? std::string(".") : home) + "/.batonrc";
}

Result<std::map<std::string, Target>> LoadTargets(const std::string& path) {
  std::map<std::string, Target> targets;
  if (!std::filesystem::exists(path)) return targets;
  try {
    YAML::Node root = YAML::LoadFile(path);
    YAML::Node list = root["targets"];
    if (!list) return targets;
    if (!list.IsMap()) return InvalidArgument(path + ": `targets` must be a map");
    for (const auto& entry : list) {
      std::string name = entry.first.as<std::string>();
      targets[name] = TargetFromNode(name, entry.second);
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
  return targets;
}

Status SaveTarget(const std::string& path, const Target& target) {
  BATON_ASSIGN_OR_RETURN(auto targets, LoadTargets(path));
  Target t = target;
  t.url = TrimSlash(t.url);
  targets[t.name] = t;
  return WritePrivateFile(path, Render(targets));
}

Result<Target> ResolveTarget(const std::string& name) {
  Target t;
  t.name = name;
  auto targets = LoadTargets(TargetsFilePath());
  if (!targets.ok()) return targets.status();
  if (auto it = targets->find(name); it != targets->end()) t = it->second;
  if (std::string url = Env("BATON_TARGET_URL"); !url.empty()) t.url = TrimSlash(url);
  if (std::string token = Env("BATON_TOKEN"); !token.empty()) t.token = token;
  if (std::string team = Env("BATON_TEAM"); !team.empty()) t.team = team;
  if (t.url.empty()) {
    return NotFound("no target `" + name + "`; log in first: baton login -t " + name +
                    " -c URL --token TOKEN");
  }
  return t;
}

}  // namespace baton::cli
