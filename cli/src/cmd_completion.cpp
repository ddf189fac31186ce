// Shell completion: `baton completion bash|zsh` prints a script to source; the script asks
// the hidden `baton __complete` for words: the verbs and flags (read from this very CLI, so
// they never go stale) and pipeline, job and resource names from the target (-t, before or
// after the verb).
#include <iostream>

#include "baton/webapi/http_types.h"
#include "client/client_command.h"
#include "client/targets.h"
#include "command.h"

namespace baton::cli {
namespace {

constexpr const char* kBashScript =
    R"SH(# baton completion for bash: source <(baton completion bash)
_baton_complete() {
  local cur prev verb="" i w
  local -a t=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    case "$w" in
      -t|--target) t=(-t "${COMP_WORDS[i+1]}"); ((i++)) ;;
      -*) ;;
      *) [ -z "$verb" ] && verb="$w" ;;
    esac
  done
  local kind=""
  case "$prev" in
    -t|--target) kind=targets ;;
    -p|--pipeline) kind=pipelines ;;
    -j|--job) kind=jobs ;;
    -r|--resource) kind=resources ;;
  esac
  if [ -n "$kind" ]; then
    COMPREPLY=($(compgen -W "$(baton __complete "${t[@]}" "$kind" 2>/dev/null)" -- "$cur"))
  elif [ -z "$verb" ]; then
    COMPREPLY=($(compgen -W "$(baton __complete verbs 2>/dev/null)" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(baton __complete flags "$verb" 2>/dev/null)" -- "$cur"))
  fi
}
complete -o default -F _baton_complete baton
)SH";

// zsh runs the bash function through its bashcompinit layer, so both shells share one logic.
constexpr const char* kZshPrefix = R"SH(# baton completion for zsh: source <(baton completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
)SH";

std::vector<std::string> Verbs(CLI::App& root) {
  std::vector<std::string> out;
  for (CLI::App* sub : root.get_subcommands([](CLI::App*) { return true; })) {
    if (!sub->get_name().empty() && sub->get_name()[0] != '_') out.push_back(sub->get_name());
  }
  return out;
}

std::vector<std::string> Flags(CLI::App& root, const std::string& verb) {
  std::vector<std::string> out;
  CLI::App* sub = nullptr;
  try {
    sub = root.get_subcommand(verb);
  } catch (const CLI::OptionNotFound&) {
    return out;
  }
  for (const CLI::Option* opt : sub->get_options()) {
    for (const auto& s : opt->get_snames()) out.push_back("-" + s);
    for (const auto& l : opt->get_lnames()) out.push_back("--" + l);
  }
  return out;
}

// Names from the target: "pipelines", "jobs" (as P/J) or "resources" (as P/R).
Result<std::vector<std::string>> Names(const ClientFlags& flags, const std::string& kind) {
  BATON_ASSIGN_OR_RETURN(ApiClient client, Connect(flags));
  BATON_ASSIGN_OR_RETURN(
      Json pipelines,
      client.Get("/teams/" + net::PercentEncode(client.target().team) + "/pipelines"));
  std::vector<std::string> out;
  for (const auto& p : pipelines) {
    std::string name = p.value("name", "");
    if (kind == "pipelines") {
      out.push_back(name);
      continue;
    }
    BATON_ASSIGN_OR_RETURN(Json items, client.Get(client.PipelinePath(name, "/" + kind)));
    for (const auto& item : items) out.push_back(name + "/" + item.value("name", ""));
  }
  return out;
}

Result<std::vector<std::string>> Words(CLI::App& root, const ClientFlags& flags,
                                       const std::vector<std::string>& args) {
  const std::string kind = args.empty() ? "" : args[0];
  if (kind == "verbs") return Verbs(root);
  if (kind == "flags") return Flags(root, args.size() > 1 ? args[1] : "");
  if (kind == "targets") {
    BATON_ASSIGN_OR_RETURN(auto targets, LoadTargets(TargetsFilePath()));
    std::vector<std::string> out;
    for (const auto& [name, t] : targets) out.push_back(name);
    return out;
  }
  if (kind == "pipelines" || kind == "jobs" || kind == "resources") return Names(flags, kind);
  return InvalidArgument(
      "__complete takes verbs, flags VERB, targets, pipelines, jobs or resources");
}

void RegisterCompletion(CLI::App& root, int& exit_code) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = root.add_subcommand("completion", "Print a bash or zsh completion script");
  cmd->add_option("shell", *shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([shell, &exit_code] {
    if (*shell == "zsh") std::cout << kZshPrefix;
    std::cout << kBashScript;
    exit_code = kExitOk;
  });

  auto flags = std::make_shared<ClientFlags>();
  auto args = std::make_shared<std::vector<std::string>>();
  auto* words = root.add_subcommand("__complete", "Words for the shell completion script");
  words->group("");  // hidden from help
  flags->AddTo(words);
  words->add_option("words", *args);
  words->callback([&root, flags, args, &exit_code] {
    auto out = Words(root, *flags, *args);
    if (!out.ok()) {
      exit_code = ReportError(out.status());
      return;
    }
    for (const auto& w : *out) std::cout << w << "\n";
    exit_code = kExitOk;
  });
}

BATON_COMMAND_OVER_ALL(RegisterCompletion, "completion", "__complete");

}  // namespace
}  // namespace baton::cli
