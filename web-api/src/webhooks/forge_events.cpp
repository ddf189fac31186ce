// Parsing push and ping deliveries of each forge into one ForgeEvent shape.
#include <algorithm>

#include "baton/common/json.h"
#include "baton/common/strings.h"
#include "baton/webapi/webhooks.h"

namespace baton::webapi {
namespace {

// Reads a payload defensively: a field that is absent or null reads as empty, a field of the
// wrong type reads as empty and records an error naming it (the first one), which ParseEvent
// returns as InvalidArgument. Nothing here throws on any JSON value.
class Payload {
 public:
  explicit Payload(std::string forge) : forge_(std::move(forge)) {}

  // The string at a JSON pointer ("/repository/full_name") of `j`.
  std::string Str(const Json& j, const char* pointer) { return Get(j, pointer, "a string"); }

  bool Bool(const Json& j, const char* pointer) {
    const Json* v = Find(j, pointer);
    if (!v) return false;
    if (v->is_boolean()) return v->get<bool>();
    Wrong(pointer, "a boolean", *v);
    return false;
  }

  // The object at `pointer`, or null (recording an error when it is something else).
  const Json* Object(const Json& j, const char* pointer) { return Typed(j, pointer, false); }
  const Json* Array(const Json& j, const char* pointer) { return Typed(j, pointer, true); }

  const std::string& error() const { return error_; }

 private:
  // Walks "/a/b/c" through objects; a step through something else (a string where GitHub
  // sends an object) is recorded as a wrong type.
  const Json* Find(const Json& j, const char* pointer) {
    const Json* v = &j;
    std::string_view rest(pointer);
    std::string walked;
    while (!rest.empty()) {
      rest.remove_prefix(1);  // the '/'
      size_t slash = rest.find('/');
      std::string key(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
      if (!v->is_object()) {
        if (!v->is_null() && !walked.empty()) Wrong(walked.c_str(), "an object", *v);
        return nullptr;
      }
      auto it = v->find(key);
      if (it == v->end()) return nullptr;
      v = &*it;
      walked += "/" + key;
    }
    return v->is_null() ? nullptr : v;
  }

  std::string Get(const Json& j, const char* pointer, const char* expected) {
    const Json* v = Find(j, pointer);
    if (!v) return {};
    if (v->is_string()) return v->get<std::string>();
    Wrong(pointer, expected, *v);
    return {};
  }

  const Json* Typed(const Json& j, const char* pointer, bool list) {
    const Json* v = Find(j, pointer);
    if (!v) return nullptr;
    if (list ? !v->is_array() : !v->is_object()) {
      Wrong(pointer, list ? "a list" : "an object", *v);
      return nullptr;
    }
    return v;
  }

  void Wrong(const char* pointer, const char* expected, const Json& v) {
    if (!error_.empty()) return;
    error_ = "the " + forge_ + " webhook payload's field `" + std::string(pointer).substr(1) +
             "` must be " + expected + ", got " + v.type_name() + ": is this delivery from " +
             forge_ + "?";
  }

  std::string forge_;
  std::string error_;
};

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

// A commit message read from a payload; an absent or empty one counts as unknown.
std::optional<std::string> Message(std::string text) {
  if (text.empty()) return std::nullopt;
  return text;
}

// The message of commit `sha` from a payload's list of commits ({id, message} each), if there.
std::optional<std::string> MessageIn(const Json* commits, const std::string& sha, Payload& in) {
  if (!commits || sha.empty()) return std::nullopt;
  for (const Json& c : *commits) {
    if (c.is_object() && in.Str(c, "/id") == sha) return Message(in.Str(c, "/message"));
  }
  return std::nullopt;
}

// GitHub and Gitea share the push payload shape (ref/before/after/repository).
void ParseGitHubLike(const Json& body, ForgeEvent& e, Payload& in) {
  e.repository = in.Str(body, "/repository/full_name");
  e.default_branch = in.Str(body, "/repository/default_branch");
  for (const char* p : {"/repository/clone_url", "/repository/ssh_url", "/repository/git_url",
                        "/repository/html_url", "/repository/url"}) {
    AddUrl(e, in.Str(body, p));
  }
  if (e.kind == ForgeEvent::Kind::kPush) {
    bool deleted = in.Bool(body, "/deleted");
    e.changes.push_back(MakeChange(in.Str(body, "/ref"), in.Str(body, "/after"), deleted));
    RefChange& c = e.changes.back();
    if (!c.after.empty() && in.Str(body, "/head_commit/id") == c.after) {
      c.after_message = Message(in.Str(body, "/head_commit/message"));
    } else {
      c.after_message = MessageIn(in.Array(body, "/commits"), c.after, in);
    }
  }
}

void ParseGitLab(const Json& body, ForgeEvent& e, Payload& in) {
  e.repository = in.Str(body, "/project/path_with_namespace");
  e.default_branch = in.Str(body, "/project/default_branch");
  for (const char* p :
       {"/project/git_http_url", "/project/git_ssh_url", "/project/web_url",
        "/repository/git_http_url", "/repository/git_ssh_url", "/repository/homepage"}) {
    AddUrl(e, in.Str(body, p));
  }
  if (e.kind == ForgeEvent::Kind::kPush) {
    e.changes.push_back(MakeChange(in.Str(body, "/ref"), in.Str(body, "/after"), false));
    RefChange& c = e.changes.back();
    c.after_message = MessageIn(in.Array(body, "/commits"), c.after, in);
  }
}

void ParseBitbucketCloud(const Json& body, ForgeEvent& e, Payload& in) {
  e.repository = in.Str(body, "/repository/full_name");
  AddUrl(e, in.Str(body, "/repository/links/html/href"));
  if (!e.repository.empty()) AddUrl(e, "https://bitbucket.org/" + e.repository);
  const Json* changes = in.Array(body, "/push/changes");
  if (!changes) return;
  for (const Json& c : *changes) {
    const Json* added = in.Object(c, "/new");
    const Json* side = added ? added : in.Object(c, "/old");
    if (!side) continue;
    std::string prefix = in.Str(*side, "/type") == "tag" ? "refs/tags/" : "refs/heads/";
    e.changes.push_back(MakeChange(prefix + in.Str(*side, "/name"),
                                   added ? in.Str(*side, "/target/hash") : "", !added));
    if (added) e.changes.back().after_message = Message(in.Str(*side, "/target/message"));
  }
}

void ParseBitbucketServer(const Json& body, ForgeEvent& e, Payload& in) {
  std::string project = in.Str(body, "/repository/project/key");
  e.repository = project + "/" + in.Str(body, "/repository/slug");
  if (const Json* clones = in.Array(body, "/repository/links/clone")) {
    for (const Json& link : *clones) AddUrl(e, in.Str(link, "/href"));
  }
  const Json* changes = in.Array(body, "/changes");
  if (!changes) return;
  for (const Json& c : *changes) {
    if (!c.is_object()) continue;
    std::string ref = in.Str(c, "/refId");
    if (ref.empty()) ref = in.Str(c, "/ref/id");
    e.changes.push_back(MakeChange(ref, in.Str(c, "/toHash"), in.Str(c, "/type") == "DELETE"));
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
  Payload in(ToString(forge));
  try {
    if (forge == Forge::kGitHub || forge == Forge::kGitea) ParseGitHubLike(json, e, in);
    if (forge == Forge::kGitLab) ParseGitLab(json, e, in);
    if (forge == Forge::kBitbucket) {
      if (json.contains("push"))
        ParseBitbucketCloud(json, e, in);
      else
        ParseBitbucketServer(json, e, in);
    }
  } catch (const Json::exception& ex) {  // Payload never throws; this keeps a 500 impossible
    return InvalidArgument(std::string("the ") + ToString(forge) +
                           " webhook payload could not be read: " + ex.what());
  }
  if (!in.error().empty()) return InvalidArgument(in.error());
  return e;
}

}  // namespace baton::webapi
