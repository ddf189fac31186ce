#include "client/client_command.h"

#include <unistd.h>

#include <iostream>

#include "client/table.h"

namespace baton::cli {

std::string& TargetBeforeVerb() {
  static std::string target;
  return target;
}

std::string EffectiveTarget(const std::string& own) {
  if (!own.empty()) return own;
  return TargetBeforeVerb().empty() ? "default" : TargetBeforeVerb();
}

void ClientFlags::AddTo(CLI::App* cmd, bool with_json) {
  cmd->add_option("-t,--target", target,
                  "Server to talk to, as saved by `baton login` (default: default); may also "
                  "come before the verb");
  if (with_json) cmd->add_flag("--json", json, "Print JSON instead of a table");
}

Result<ApiClient> Connect(const ClientFlags& flags) {
  BATON_ASSIGN_OR_RETURN(Target target, ResolveTarget(EffectiveTarget(flags.target)));
  return ApiClient(std::move(target));
}

Result<ResourceEndpoint> ConnectToResource(const ClientFlags& flags,
                                           const std::string& resource_path, bool& usage) {
  auto pr = SplitPipelinePath(resource_path, "-r", "RESOURCE");
  usage = !pr.ok();
  if (!pr.ok()) return pr.status();
  BATON_ASSIGN_OR_RETURN(ApiClient client, Connect(flags));
  std::string base = client.PipelinePath(pr->first, "/resources/" + net::PercentEncode(pr->second));
  return ResourceEndpoint{std::move(client), base};
}

int ReportError(const Status& status, bool usage) {
  std::fprintf(stderr, "error: %s\n", Printable(status.ToString()).c_str());
  return usage ? 2 : 1;
}

Result<std::pair<std::string, std::string>> SplitPipelinePath(const std::string& value,
                                                              const std::string& flag,
                                                              const std::string& what) {
  size_t slash = value.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == value.size() ||
      value.find('/', slash + 1) != std::string::npos) {
    return InvalidArgument(flag + " takes PIPELINE/" + what + ", got \"" + value + "\"");
  }
  return std::make_pair(value.substr(0, slash), value.substr(slash + 1));
}

void PrintJson(const Json& value) { std::printf("%s\n", value.dump(2).c_str()); }

std::string Field(const Json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return "";
  const Json& v = object[key];
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

bool AskYesNo(const std::string& question) {
  std::printf("%s [y/N]: ", question.c_str());
  std::fflush(stdout);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
}

bool Interactive() { return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO); }

}  // namespace baton::cli
