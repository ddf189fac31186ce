// Matching forge events to git resources by repository URL, branch and tag filter.
#include <fnmatch.h>

#include <algorithm>

#include "baton/common/strings.h"
#include "baton/webapi/webhooks.h"

namespace baton::webapi {
namespace {

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits "host:port" -> "host".
std::string_view StripPort(std::string_view host) {
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']') == std::string_view::npos) {
    return host.substr(0, colon);
  }
  return host;
}

}  // namespace

std::string NormalizeRepoUrl(std::string_view url) {
  std::string_view s = Trim(url);
  std::string host, path;
  size_t scheme = s.find("://");
  if (scheme != std::string_view::npos) {
    s.remove_prefix(scheme + 3);
    size_t slash = s.find('/');
    std::string_view authority = s.substr(0, slash);
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
      authority.remove_prefix(at + 1);
    }
    host = LowerCopy(StripPort(authority));
    path = slash == std::string_view::npos ? "" : std::string(s.substr(slash + 1));
  } else if (size_t colon = s.find(':'); colon != std::string_view::npos &&
                                         s.substr(0, colon).find('/') == std::string_view::npos) {
    std::string_view authority = s.substr(0, colon);  // scp-like: user@host:path
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
      authority.remove_prefix(at + 1);
    }
    host = LowerCopy(authority);
    path = std::string(s.substr(colon + 1));
  } else {
    path = std::string(s);  // a local path
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (EndsWith(path, ".git")) path.resize(path.size() - 4);
  while (!path.empty() && path.front() == '/' && !host.empty()) path.erase(0, 1);
  return host.empty() ? path : host + "/" + path;
}

bool EventMatchesGitSource(const ForgeEvent& event, const nlohmann::json& source) {
  if (!source.is_object() || !source.contains("uri") || !source["uri"].is_string()) return false;
  std::string uri = NormalizeRepoUrl(source["uri"].get<std::string>());
  bool repo_matches = std::any_of(event.repo_urls.begin(), event.repo_urls.end(),
                                  [&](const std::string& u) { return NormalizeRepoUrl(u) == uri; });
  if (!repo_matches) return false;
  if (event.kind != ForgeEvent::Kind::kPush) return true;
  auto text = [&source](const char* key) {  // a pipeline's source may hold anything
    auto it = source.find(key);
    return it != source.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string branch = text("branch");
  std::string tag_filter = text("tag_filter");
  for (const auto& change : event.changes) {
    if (change.deleted) continue;  // nothing new to check on a deleted ref
    if (!tag_filter.empty()) {
      if (!change.tag.empty() && fnmatch(tag_filter.c_str(), change.tag.c_str(), 0) == 0) {
        return true;
      }
      continue;
    }
    if (change.branch.empty()) continue;
    if (branch.empty() ? (event.default_branch.empty() || change.branch == event.default_branch)
                       : change.branch == branch) {
      return true;
    }
  }
  return false;
}

}  // namespace baton::webapi
