// The commit a push names, when it alone says what a git resource's check would record.
#include <algorithm>
#include <array>
#include <string_view>

#include "baton/webapi/webhooks.h"

namespace baton::webapi {
namespace {

// The source options that do not change which commits are versions: with only these, the
// check's newest version is the branch's head commit unless its message skips CI. Anything
// else (paths, ignore_paths, tag_filter, tag_regex, commit_filter, version_depth, an option of
// a newer git resource) may, and sends the push through the check first.
constexpr std::array<std::string_view, 10> kExactOptions = {"uri",
                                                            "branch",
                                                            "username",
                                                            "password",
                                                            "private_key",
                                                            "private_key_passphrase",
                                                            "skip_ssl_verification",
                                                            "fetch_tags",
                                                            "git_config",
                                                            "disable_ci_skip"};

bool OnlyExactOptions(const nlohmann::json& source) {
  for (auto it = source.begin(); it != source.end(); ++it) {
    if (it.value().is_null()) continue;  // an option left empty, as YAML's `paths:` alone
    if (std::find(kExactOptions.begin(), kExactOptions.end(), it.key()) == kExactOptions.end()) {
      return false;
    }
  }
  return true;
}

bool IsFullSha(const std::string& sha) {
  return sha.size() == 40 && sha.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// As the git resource's check (git_resource.cpp) skips a commit.
bool SkipsCi(const std::string& message) {
  return message.find("[ci skip]") != std::string::npos ||
         message.find("[skip ci]") != std::string::npos;
}

std::string StringOption(const nlohmann::json& source, const char* key) {
  auto it = source.find(key);
  return it != source.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::optional<std::string> PushedCommit(const ForgeEvent& event, const nlohmann::json& source) {
  if (event.kind != ForgeEvent::Kind::kPush || event.changes.size() != 1) return std::nullopt;
  const RefChange& change = event.changes.front();
  if (change.deleted || change.branch.empty() || !IsFullSha(change.after)) return std::nullopt;
  if (!source.is_object() || !OnlyExactOptions(source)) return std::nullopt;
  std::string branch = StringOption(source, "branch");
  if (branch.empty()) branch = event.default_branch;
  if (branch.empty() || branch != change.branch) return std::nullopt;
  auto ci_skip = source.find("disable_ci_skip");
  bool skip_honoured = ci_skip == source.end() || !ci_skip->is_boolean() || !ci_skip->get<bool>();
  if (skip_honoured && (!change.after_message || SkipsCi(*change.after_message))) {
    return std::nullopt;
  }
  return change.after;
}

}  // namespace baton::webapi
