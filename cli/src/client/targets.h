// Targets: the servers `baton login` remembers, kept in ~/.batonrc as YAML (mode 0600), as fly
// keeps ~/.flyrc:
//
//   targets:
//     default:
//       url: http://127.0.0.1:8080
//       team: main
//       token: 3f1c...
//
// BATON_TARGET_URL and BATON_TOKEN (and BATON_TEAM) override what the file says, so scripts and
// tests need no file at all. Values; thread-compatible.
#pragma once

#include <map>
#include <string>

#include "baton/common/status.h"

namespace baton::cli {

struct Target {
  std::string name;
  std::string url;  // without a trailing '/'
  std::string team = "main";
  std::string token;
};

// $BATONRC, else $HOME/.batonrc.
std::string TargetsFilePath();

// Every target in `path`; an absent file is an empty map.
Result<std::map<std::string, Target>> LoadTargets(const std::string& path);

// Adds or replaces `target` in `path`, keeping the others; the file is written with mode 0600.
Status SaveTarget(const std::string& path, const Target& target);

// The target named `name` from the file, with the BATON_* environment applied on top. An error
// says how to log in when neither the file nor the environment names a URL.
Result<Target> ResolveTarget(const std::string& name);

}  // namespace baton::cli
