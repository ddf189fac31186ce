// Git forge webhooks: signature verification and push-event parsing for GitHub, GitLab,
// Gitea/Forgejo and Bitbucket (Cloud and Server), and matching of events to git resources.
//
// Pure functions over a delivery's headers and raw body; no I/O. Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "baton/common/status.h"

namespace baton::webapi {

enum class Forge { kGitHub, kGitLab, kGitea, kBitbucket };
const char* ToString(Forge forge);
// "github", "gitlab", "gitea" (also "forgejo"), "bitbucket".
Result<Forge> ParseForge(std::string_view name);

// Case-insensitive header lookup; returns "" when absent.
using HeaderLookup = std::function<std::string(std::string_view name)>;

// One ref updated by a push.
struct RefChange {
  std::string ref;     // "refs/heads/main", "refs/tags/v1"
  std::string branch;  // "main" for branch refs, else ""
  std::string tag;     // "v1" for tag refs, else ""
  std::string after;   // new commit sha ("" when deleted)
  bool deleted = false;
  // The message of commit `after` when the payload carries it (GitHub's and Gitea's
  // head_commit or commits, GitLab's commits, Bitbucket Cloud's target); else unset.
  std::optional<std::string> after_message;
};

struct ForgeEvent {
  enum class Kind { kPush, kPing, kOther };
  Kind kind = Kind::kOther;
  Forge forge = Forge::kGitHub;
  std::string event_name;   // the forge's event header value ("push", "Push Hook", "repo:push")
  std::string delivery_id;  // the forge's delivery id header, "" if it sends none
  std::string repository;   // "owner/name" for messages
  std::string default_branch;
  std::vector<std::string> repo_urls;  // every clone/web URL the payload names
  std::vector<RefChange> changes;
};

// Checks the delivery's signature against `secret`:
//   GitHub    X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>
//   Gitea     X-Gitea-Signature / X-Forgejo-Signature: <hex>  (or X-Hub-Signature-256)
//   GitLab    X-Gitlab-Token: <secret>
//   Bitbucket X-Hub-Signature: sha256=<hex>
// PermissionDenied with the reason ("missing X-Hub-Signature-256 header", "signature mismatch")
// otherwise. Comparisons are constant-time. An empty secret never verifies.
Status VerifySignature(Forge forge, const HeaderLookup& headers, std::string_view body,
                       std::string_view secret);

// Parses a delivery. InvalidArgument when the body is not the JSON the forge sends.
Result<ForgeEvent> ParseEvent(Forge forge, const HeaderLookup& headers, std::string_view body);

// A repository URL reduced to "host/path" so that the https, ssh (scp-like and ssh://), git://
// and `.git` forms of one repository compare equal: lower-case host, no scheme, user, port or
// trailing ".git" or "/".
std::string NormalizeRepoUrl(std::string_view url);

// Does a push event concern a git resource with this `source` (uri, branch, tag_filter)?
// The uri must match one of the event's URLs; a branch resource matches pushes to its branch
// (or to the default branch when it names none); a tag_filter resource matches tag pushes.
bool EventMatchesGitSource(const ForgeEvent& event, const nlohmann::json& source);

// The commit a verified push names as the new head of the branch a git resource with this
// `source` tracks, when that commit is exactly what the resource's check would record as its
// newest version ({"ref": sha}): one branch pushed (not deleted, not tags), the branch the
// source names (or the repository's default branch when it names none), a full sha, and no
// source option that filters commits (paths, ignore_paths, tag_filter, tag_regex, or any option
// this does not know, such as commit_filter or version_depth). Unless the source sets
// disable_ci_skip, the payload must carry the commit's message and it must not skip CI. Else
// nullopt: the push is checked first, as before. REQUIRES: EventMatchesGitSource(event, source).
std::optional<std::string> PushedCommit(const ForgeEvent& event, const nlohmann::json& source);

// Lower-case hex HMAC-SHA256.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace baton::webapi
