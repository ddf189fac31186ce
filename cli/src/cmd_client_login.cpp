// `baton login`: check a server URL and token, and remember them as a target in ~/.batonrc.
#include "client/api_client.h"
#include "client/client_command.h"
#include "client/targets.h"
#include "command.h"

namespace baton::cli {
namespace {

struct LoginFlags {
  std::string target;  // empty: EffectiveTarget
  std::string url;
  std::string token;
  std::string team = "main";
};

int Login(const LoginFlags& flags) {
  Target target;
  target.name = EffectiveTarget(flags.target);
  target.url = flags.url;
  target.team = flags.team;
  target.token = flags.token;
  while (!target.url.empty() && target.url.back() == '/') target.url.pop_back();
  ApiClient client(target);
  auto info = client.Get("/info");
  if (!info.ok()) return ReportError(info.status());
  // /workers needs a valid token: it tells a wrong token apart from a wrong URL.
  auto workers = client.Get("/workers");
  if (!workers.ok()) return ReportError(workers.status());
  std::string path = TargetsFilePath();
  if (Status s = SaveTarget(path, target); !s.ok()) return ReportError(s);
  std::printf("logged in to %s (baton %s) as target `%s`; saved in %s\n", target.url.c_str(),
              Field(*info, "version").c_str(), target.name.c_str(), path.c_str());
  return kExitOk;
}

void RegisterLogin(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<LoginFlags>();
  auto* cmd = root.add_subcommand("login", "Remember a server and its API token as a target");
  cmd->add_option("-c,--concourse-url,--url", flags->url, "Server URL, e.g. http://127.0.0.1:8080")
      ->required();
  cmd->add_option("--token", flags->token, "API token (`baton quickstart` prints the admin one)")
      ->required();
  cmd->add_option("-t,--target", flags->target, "Name to save the target under (default: default)");
  cmd->add_option("-n,--team-name", flags->team, "Team")->capture_default_str();
  cmd->callback([flags, &exit_code] { exit_code = Login(*flags); });
}

BATON_COMMAND(RegisterLogin, "login");

}  // namespace
}  // namespace baton::cli
