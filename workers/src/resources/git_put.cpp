#include "resources/git_put.h"

#include <filesystem>

#include "baton/common/strings.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

struct PutParams {
  fs::path repo_dir;
  bool rebase = false;
  bool force = false;
  std::string tag;       // full tag name ("" = none)
  std::string annotate;  // tag message ("" = lightweight)
};

Result<std::string> ReadParamFile(const std::string& dir, const Json& params, const char* key) {
  BATON_ASSIGN_OR_RETURN(std::string rel, StringField(params, key, "params"));
  if (rel.empty()) return std::string();
  BATON_ASSIGN_OR_RETURN(fs::path path,
                         PathInside(dir, rel, std::string("git put: params.") + key));
  auto text = ReadFile(path);
  if (!text.ok()) {
    return NotFound(std::string("git put: cannot read params.") + key + " file '" + rel +
                    "': write it in an output of an earlier task");
  }
  return std::string(Trim(*text));
}

Result<PutParams> ParseParams(const Json& params, const std::string& dir) {
  PutParams p;
  BATON_ASSIGN_OR_RETURN(std::string repo, StringField(params, "repository", "params"));
  if (repo.empty()) {
    return InvalidArgument("git put: set params.repository to the artifact holding the checkout");
  }
  BATON_ASSIGN_OR_RETURN(p.repo_dir, PathInside(dir, repo, "git put: params.repository"));
  BATON_ASSIGN_OR_RETURN(p.rebase, BoolField(params, "rebase", "params"));
  BATON_ASSIGN_OR_RETURN(p.force, BoolField(params, "force", "params"));
  BATON_ASSIGN_OR_RETURN(std::string tag, ReadParamFile(dir, params, "tag"));
  BATON_ASSIGN_OR_RETURN(std::string prefix, StringField(params, "tag_prefix", "params"));
  if (!tag.empty()) p.tag = prefix + tag;
  BATON_ASSIGN_OR_RETURN(p.annotate, ReadParamFile(dir, params, "annotate"));
  return p;
}

GitSignature Now(const ResourceContext& ctx, const GitCommit& head) {
  const Clock& clock = ctx.clock ? *ctx.clock : RealClock();
  return {head.committer.name, head.committer.email, clock.Now(), 0};
}

// Rebases HEAD onto the remote branch when the remote has commits HEAD lacks. Returns HEAD.
Result<std::string> RebaseIfBehind(const ResourceContext& ctx, GitRepository& repo,
                                   const GitSource& s, const std::string& head) {
  std::string tracking = "refs/remotes/origin/" + s.branch;
  auto fetched = repo.Fetch(s.remote, {"+refs/heads/" + s.branch + ":" + tracking});
  if (!fetched.ok()) return fetched.status();
  auto remote_tip = repo.ResolveCommit(tracking);
  if (!remote_tip.ok()) return head;  // a new branch: nothing to rebase onto
  BATON_ASSIGN_OR_RETURN(bool contains, repo.IsAncestor(*remote_tip, head));
  if (contains) return head;
  LogLine(ctx, "rebasing onto " + remote_tip->substr(0, 7) + " (origin/" + s.branch + ")");
  BATON_ASSIGN_OR_RETURN(GitCommit commit, repo.Commit(head));
  return repo.Rebase(*remote_tip, Now(ctx, commit));
}

std::string RejectionText(const GitPushResult& r) {
  std::vector<std::string> parts;
  for (const auto& [ref, why] : r.rejected) parts.push_back(ref.empty() ? why : ref + ": " + why);
  return Join(parts, "; ");
}

}  // namespace

Result<GitPutOutcome> PutGit(const ResourceContext& ctx, const GitSource& s, const Json& params,
                             const std::string& dir) {
  std::string what = s.Describe("git put");
  if (s.branch.empty()) return InvalidArgument(what + ": set source.branch to the branch to push");
  BATON_ASSIGN_OR_RETURN(PutParams p, ParseParams(params, dir));
  BATON_ASSIGN_OR_RETURN(auto repo, OpenGitCheckout(p.repo_dir.string()));
  BATON_RETURN_IF_ERROR(repo->SetConfig(s.git_config));
  auto head = repo->ResolveCommit("HEAD");
  if (!head.ok()) return FailedPrecondition(what + ": the repository has no commit to push");
  std::string sha = *head;
  if (p.rebase) {
    auto rebased = RebaseIfBehind(ctx, *repo, s, sha);
    if (!rebased.ok())
      return Status(rebased.status().code(), what + ": " + rebased.status().message());
    sha = *rebased;
  }
  std::string plus = p.force ? "+" : "";
  std::vector<std::string> refspecs = {plus + "HEAD:refs/heads/" + s.branch};
  if (!p.tag.empty()) {
    BATON_ASSIGN_OR_RETURN(GitCommit commit, repo->Commit(sha));
    Status tagged = repo->CreateTag(p.tag, sha, p.annotate, Now(ctx, commit), p.force);
    if (!tagged.ok()) return Status(tagged.code(), what + ": " + tagged.message());
    refspecs.push_back(plus + "refs/tags/" + p.tag + ":refs/tags/" + p.tag);
  }
  auto pushed = repo->Push(s.remote, refspecs);
  if (!pushed.ok()) return Status(pushed.status().code(), what + ": " + pushed.status().message());
  if (!pushed->rejected.empty()) {
    return FailedPrecondition(what + ": the remote rejected the push (" + RejectionText(*pushed) +
                              "): the branch moved; set params.rebase: true, or params.force");
  }
  LogLine(ctx, "pushed " + sha.substr(0, 7) + " to " + s.branch +
                   (p.tag.empty() ? "" : " with tag " + p.tag));
  return GitPutOutcome{sha, p.repo_dir.string(), s.branch};
}

}  // namespace baton::workers::resources
