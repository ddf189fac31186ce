// Parsing push and ping deliveries of each forge into one ForgeEvent shape.
#include <algorithm>

#include "baton/common/strings.h"
#include "baton/webapi/webhooks.h"

namespace baton::webapi {
namespace {

using Json = nlohmann::json;

// The string at a JSON pointer, or "" when absent or not a string.
std::string Str(const Json& j, const char* pointer) {
  const Json::json_pointer p(pointer);
  if (!j.contains(p)) return {};
  const Json& v = j.at(p);
  return v.is_string() ? v.get<std::string>() : std::string();
}

void AddUrl(ForgeEvent& e, std::string url) {
  if (url.empty()) return;
  if (std::find(e.repo_urls.begin(), e.repo_urls.end(), url) == e.repo_urls.end()) {
    e.repo_urls.push_back(std::move(url));
  }
}

bool IsZeroSha(std::string_view sha) {
  return sha.empty() || sha.find_first_not_of('0') == std::string_view::npos;
}

RefChange MakeChange(std::string ref, std::string after, bool deleted) {
  RefChange c;
  c.ref = std::move(ref);
  if (StartsWith(c.ref, "refs/heads/")) c.branch = c.ref.substr(11);
  if (StartsWith(c.ref, "refs/tags/")) c.tag = c.ref.substr(10);
  c.deleted = deleted || IsZeroSha(after);
  if (!c.deleted) c.after = std::move(after);
  return c;
}

// GitHub and Gitea share the push payload shape (ref/before/after/repository).
void ParseGitHubLike(const Json& body, ForgeEvent& e) {
  e.repository = Str(body, "/repository/full_name");
  e.default_branch = Str(body, "/repository/default_branch");
  for (const char* p : {"/repository/clone_url", "/repository/ssh_url", "/repository/git_url",
                        "/repository/html_url", "/repository/url"}) {
    AddUrl(e, Str(body, p));
  }
  if (e.kind == ForgeEvent::Kind::kPush) {
    bool deleted = body.value("deleted", false);
    e.changes.push_back(MakeChange(Str(body, "/ref"), Str(body, "/after"), deleted));
  }
}

void ParseGitLab(const Json& body, ForgeEvent& e) {
  e.repository = Str(body, "/project/path_with_namespace");
  e.default_branch = Str(body, "/project/default_branch");
  for (const char* p :
       {"/project/git_http_url", "/project/git_ssh_url", "/project/web_url",
        "/repository/git_http_url", "/repository/git_ssh_url", "/repository/homepage"}) {
    AddUrl(e, Str(body, p));
  }
  if (e.kind == ForgeEvent::Kind::kPush) {
    e.changes.push_back(MakeChange(Str(body, "/ref"), Str(body, "/after"), false));
  }
}

void ParseBitbucketCloud(const Json& body, ForgeEvent& e) {
  e.repository = Str(body, "/repository/full_name");
  AddUrl(e, Str(body, "/repository/links/html/href"));
  if (!e.repository.empty()) AddUrl(e, "https://bitbucket.org/" + e.repository);
  const Json::json_pointer changes("/push/changes");
  if (!body.contains(changes) || !body.at(changes).is_array()) return;
  for (const Json& c : body.at(changes)) {
    const Json& side =
        c.contains("new") && c["new"].is_object() ? c["new"] : c.value("old", Json());
    if (!side.is_object()) continue;
    std::string type = side.value("type", "");
    std::string prefix = type == "tag" ? "refs/tags/" : "refs/heads/";
    bool deleted = !(c.contains("new") && c["new"].is_object());
    e.changes.push_back(MakeChange(prefix + side.value("name", ""),
                                   deleted ? "" : Str(side, "/target/hash"), deleted));
  }
}

void ParseBitbucketServer(const Json& body, ForgeEvent& e) {
  std::string project = Str(body, "/repository/project/key");
  e.repository = project + "/" + Str(body, "/repository/slug");
  const Json::json_pointer clones("/repository/links/clone");
  if (body.contains(clones) && body.at(clones).is_array()) {
    for (const Json& link : body.at(clones)) {
      if (link.is_object()) AddUrl(e, link.value("href", ""));
    }
  }
  if (!body.contains("changes") || !body["changes"].is_array()) return;
  for (const Json& c : body["changes"]) {
    if (!c.is_object()) continue;
    e.changes.push_back(MakeChange(c.value("refId", Str(c, "/ref/id")), c.value("toHash", ""),
                                   c.value("type", "") == "DELETE"));
  }
}

ForgeEvent::Kind KindOf(Forge forge, const std::string& event) {
  switch (forge) {
    case Forge::kGitHub:
    case Forge::kGitea:
      if (event == "push") return ForgeEvent::Kind::kPush;
      if (event == "ping") return ForgeEvent::Kind::kPing;
      return ForgeEvent::Kind::kOther;
    case Forge::kGitLab:
      if (event == "Push Hook" || event == "Tag Push Hook") return ForgeEvent::Kind::kPush;
      return ForgeEvent::Kind::kOther;
    case Forge::kBitbucket:
      if (event == "repo:push" || event == "repo:refs_changed") return ForgeEvent::Kind::kPush;
      if (event == "diagnostics:ping") return ForgeEvent::Kind::kPing;
      return ForgeEvent::Kind::kOther;
  }
  return ForgeEvent::Kind::kOther;
}

struct HeaderNames {
  std::vector<const char*> event;
  std::vector<const char*> delivery;
};

HeaderNames HeadersOf(Forge forge) {
  switch (forge) {
    case Forge::kGitHub:
      return {{"X-GitHub-Event"}, {"X-GitHub-Delivery"}};
    case Forge::kGitea:
      return {{"X-Gitea-Event", "X-Forgejo-Event", "X-Gogs-Event", "X-GitHub-Event"},
              {"X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Gogs-Delivery", "X-GitHub-Delivery"}};
    case Forge::kGitLab:
      return {{"X-Gitlab-Event"}, {"X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID"}};
    case Forge::kBitbucket:
      return {{"X-Event-Key"}, {"X-Request-UUID", "X-Request-Id"}};
  }
  return {};
}

std::string FirstHeader(const HeaderLookup& headers, const std::vector<const char*>& names) {
  for (const char* n : names) {
    std::string v = headers(n);
    if (!v.empty()) return v;
  }
  return {};
}

}  // namespace

const char* ToString(Forge forge) {
  switch (forge) {
    case Forge::kGitHub:
      return "github";
    case Forge::kGitLab:
      return "gitlab";
    case Forge::kGitea:
      return "gitea";
    case Forge::kBitbucket:
      return "bitbucket";
  }
  return "unknown";
}

Result<Forge> ParseForge(std::string_view name) {
  if (name == "github") return Forge::kGitHub;
  if (name == "gitlab") return Forge::kGitLab;
  if (name == "gitea" || name == "forgejo") return Forge::kGitea;
  if (name == "bitbucket") return Forge::kBitbucket;
  return NotFound("unknown forge \"" + std::string(name) +
                  "\": use github, gitlab, gitea (or forgejo) or bitbucket");
}

Result<ForgeEvent> ParseEvent(Forge forge, const HeaderLookup& headers, std::string_view body) {
  HeaderNames names = HeadersOf(forge);
  ForgeEvent e;
  e.forge = forge;
  e.event_name = FirstHeader(headers, names.event);
  e.delivery_id = FirstHeader(headers, names.delivery);
  if (e.event_name.empty()) {
    return InvalidArgument(std::string("missing ") + names.event.front() + " header: is this a " +
                           ToString(forge) + " webhook?");
  }
  e.kind = KindOf(forge, e.event_name);
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return InvalidArgument(std::string("the ") + ToString(forge) +
                           " webhook body is not a JSON object: set the content type to "
                           "application/json");
  }
  if (forge == Forge::kGitHub || forge == Forge::kGitea) ParseGitHubLike(json, e);
  if (forge == Forge::kGitLab) ParseGitLab(json, e);
  if (forge == Forge::kBitbucket) {
    if (json.contains("push"))
      ParseBitbucketCloud(json, e);
    else
      ParseBitbucketServer(json, e);
  }
  return e;
}

}  // namespace baton::webapi
