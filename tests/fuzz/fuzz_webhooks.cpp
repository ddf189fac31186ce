// libFuzzer target: arbitrary bytes as a forge's webhook delivery. The first byte picks the forge
// and the event header; the rest is the body. Every parsed event is then matched against a few
// git sources, and the body is also taken as a repository URL. A crash, sanitizer report or hang
// is a bug in code that reads what anyone on the network may send.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "baton/webapi/webhooks.h"

namespace {

using baton::webapi::Forge;

struct Delivery {
  Forge forge;
  const char* event_header;
  const char* event;
};

constexpr Delivery kDeliveries[] = {
    {Forge::kGitHub, "X-GitHub-Event", "push"},
    {Forge::kGitHub, "X-GitHub-Event", "ping"},
    {Forge::kGitea, "X-Gitea-Event", "push"},
    {Forge::kGitea, "X-Forgejo-Event", "push"},
    {Forge::kGitLab, "X-Gitlab-Event", "Push Hook"},
    {Forge::kGitLab, "X-Gitlab-Event", "Tag Push Hook"},
    {Forge::kBitbucket, "X-Event-Key", "repo:push"},
    {Forge::kBitbucket, "X-Event-Key", "repo:refs_changed"},
};

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Delivery& d = kDeliveries[data[0] % std::size(kDeliveries)];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto headers = [&](std::string_view name) -> std::string {
    if (EqualsIgnoringCase(name, d.event_header)) return d.event;
    if (EqualsIgnoringCase(name, "X-Hub-Signature-256")) return "sha256=00";
    return "";
  };
  (void)baton::webapi::VerifySignature(d.forge, headers, body, "secret");
  auto event = baton::webapi::ParseEvent(d.forge, headers, body);
  if (event.ok()) {
    for (const char* source : {R"({"uri":"https://example.com/o/r.git"})",
                               R"({"uri":"git@example.com:o/r.git","branch":"main"})",
                               R"({"uri":"https://example.com/o/r","tag_filter":"v*"})"}) {
      (void)baton::webapi::EventMatchesGitSource(*event, nlohmann::json::parse(source));
    }
  }
  (void)baton::webapi::NormalizeRepoUrl(body);
  return 0;
}
