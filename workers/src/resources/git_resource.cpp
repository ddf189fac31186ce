// The `git` resource type: check / get / put against a git repository through a bare mirror per
// resource under ctx.cache_dir (libgit2; see git_repository.h). Behaviour follows Concourse's git
// resource: versions {ref: <sha>} (with tag_filter: {ref: <tag>, commit: <sha>}), paths /
// ignore_paths, "[ci skip]", and on get the files git-resource leaves in .git (git_ref_files.h).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "baton/common/strings.h"
#include "resources/builtin_types.h"
#include "resources/git_checkout_cache.h"
#include "resources/git_put.h"
#include "resources/git_ref_files.h"
#include "resources/git_source.h"
#include "resources/git_spare.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

bool SkipsCi(const std::string& message) {
  return message.find("[ci skip]") != std::string::npos ||
         message.find("[skip ci]") != std::string::npos;
}

// Whether commit `sha` is a version under the source's paths / ignore_paths / ci-skip rules.
Result<bool> Relevant(GitRepository& repo, const GitSource& s, const std::string& sha) {
  if (!s.disable_ci_skip) {
    BATON_ASSIGN_OR_RETURN(GitCommit c, repo.Commit(sha));
    if (SkipsCi(c.message)) return false;
  }
  if (s.paths.empty() && s.ignore_paths.empty()) return true;
  BATON_ASSIGN_OR_RETURN(auto changed, repo.ChangedPaths(sha));
  for (const std::string& p : changed) {
    if ((s.paths.empty() || MatchesAny(p, s.paths)) && !MatchesAny(p, s.ignore_paths)) return true;
  }
  return false;
}

Result<std::string> ResolveBranch(const GitSource& s, const std::string& default_branch) {
  if (!s.branch.empty()) return s.branch;
  if (default_branch.empty()) {
    return NotFound(s.Describe("git check") +
                    ": the remote has no default branch (empty repository?): set source.branch");
  }
  return default_branch;
}

Result<std::string> BranchHead(GitRepository& repo, const GitSource& s, const std::string& branch) {
  auto head = repo.ResolveCommit("refs/heads/" + branch);
  if (!head.ok()) {
    return NotFound(s.Describe("git check") + ": branch " + branch +
                    " does not exist in the remote: check source.branch");
  }
  return head;
}

// Whether commit `sha` is the head of `branch` in the mirror or an ancestor of it.
Result<bool> OnBranch(GitRepository& repo, const std::string& sha, const std::string& branch) {
  auto head = repo.ResolveCommit("refs/heads/" + branch);
  if (!head.ok()) return false;
  if (*head == sha) return true;
  return repo.IsAncestor(sha, *head);
}

Result<std::vector<Json>> CommitVersions(GitRepository& repo, const GitSource& s,
                                         const std::string& head, const Json& from) {
  std::string from_sha = from.is_object() ? from.value("ref", std::string()) : "";
  std::vector<Json> out;
  BATON_ASSIGN_OR_RETURN(bool continues,
                         from_sha.empty() ? Result<bool>(false) : repo.IsAncestor(from_sha, head));
  if (continues) {
    BATON_ASSIGN_OR_RETURN(auto newer, repo.Log(head, from_sha, 0));
    out.push_back(Json{{"ref", from_sha}});
    for (auto it = newer.rbegin(); it != newer.rend(); ++it) {
      BATON_ASSIGN_OR_RETURN(bool relevant, Relevant(repo, s, *it));
      if (relevant) out.push_back(Json{{"ref", *it}});
    }
    return out;
  }
  // First check, or `from` is gone from the branch (force push): the latest version only.
  bool filtered = !s.paths.empty() || !s.ignore_paths.empty() || !s.disable_ci_skip;
  BATON_ASSIGN_OR_RETURN(auto history, repo.Log(head, "", filtered ? 0 : 1));
  for (const std::string& sha : history) {
    BATON_ASSIGN_OR_RETURN(bool relevant, Relevant(repo, s, sha));
    if (relevant) return std::vector<Json>{Json{{"ref", sha}}};
  }
  return out;
}

Result<std::vector<Json>> TagVersions(GitRepository& repo, const GitSource& s, const Json& from) {
  BATON_ASSIGN_OR_RETURN(auto tags, repo.Tags());
  struct Tagged {
    std::string name, sha;
    int64_t time;
  };
  std::vector<Tagged> matching;
  for (const auto& [name, sha] : tags) {
    if (!s.TagMatches(name)) continue;
    BATON_ASSIGN_OR_RETURN(GitCommit c, repo.Commit(sha));
    matching.push_back({name, sha, c.committer.when.time_since_epoch().count()});
  }
  std::sort(matching.begin(), matching.end(), [](const Tagged& a, const Tagged& b) {
    return a.time != b.time ? a.time < b.time : a.name < b.name;
  });
  std::string from_tag = from.is_object() ? from.value("ref", std::string()) : "";
  size_t begin = matching.empty() ? 0 : matching.size() - 1;
  for (size_t i = 0; i < matching.size(); ++i) {
    if (matching[i].name == from_tag) begin = i;
  }
  std::vector<Json> out;
  for (size_t i = begin; i < matching.size(); ++i) {
    out.push_back(Json{{"ref", matching[i].name}, {"commit", matching[i].sha}});
  }
  return out;
}

std::vector<std::string> CommitTags(GitRepository& repo, const std::string& sha) {
  std::vector<std::string> tags;
  if (auto all = repo.Tags(); all.ok()) {
    for (const auto& [name, tagged] : *all) {
      if (tagged == sha) tags.push_back(name);
    }
  }
  return tags;
}

// `tags`: CommitTags of the commit (listing them peels every tag of the repository).
std::vector<MetadataField> CommitMetadata(const GitCommit& c, const std::string& branch,
                                          const std::vector<std::string>& tags,
                                          const std::string& url = "") {
  std::vector<MetadataField> m = {{"commit", c.sha},
                                  {"author", c.author.name},
                                  {"author_date", GitDate(c.author)},
                                  {"committer", c.committer.name},
                                  {"committer_date", GitDate(c.committer)},
                                  {"branch", branch},
                                  {"message", std::string(Trim(c.message))}};
  if (!tags.empty()) m.push_back({"tags", Join(tags, ",")});
  if (!url.empty()) m.push_back({"url", url});
  return m;
}

// The files git-resource leaves beside the checkout (git_ref_files.h), for `ref`'s commit.
Status WriteRefFiles(GitRepository& repo, const std::string& dir, const std::string& ref,
                     const GitCommit& commit, const std::string& branch, const GitSource& s,
                     const GitGetParams& get, std::vector<MetadataField>* metadata) {
  GitRefFiles files{
      ref, commit, branch, CommitTags(repo, commit.sha), "", CommitWebUrl(s.remote.url, commit.sha),
      {}};
  auto described = repo.Describe(commit.sha, get.describe);
  if (!described.ok()) {  // as `git describe` without --always, the get fails
    return Status(described.status().code(),
                  "params.describe_ref_options: " + described.status().message() +
                      "; add --always to fall back to the commit's sha");
  }
  files.describe = *described;
  files.metadata = CommitMetadata(commit, branch, files.tags, files.url);
  *metadata = files.metadata;
  return WriteGitRefFiles(dir, files, get);
}

GitCheckoutOptions CheckoutOptions(const GitSource& s, const std::string& branch,
                                   const GitGetParams& get) {
  GitCheckoutOptions checkout;
  checkout.branch = s.TracksTags() ? "" : branch;
  checkout.origin_url = RedactGitUrl(s.remote.url);
  checkout.tags = get.tags;
  checkout.depth = get.depth;
  return checkout;
}

// After a check, off the next get's critical path: a spare clone of the branch at `head` with
// a default get's params, for that get to take (git_spare.h), once a get of this mirror has asked
// for spares. Best effort: without a spare, a get checks out afresh. Not with submodules, which a
// spare would have to fetch from their remotes.
void KeepBranchSpare(const std::string& mirror, GitRepository& repo, const GitSource& s,
                     const std::string& branch, const std::string& head) {
  if (!SparesWanted(mirror)) return;
  // A push's get may be waiting for the mirror's lock this check held: it takes the spare there
  // is, so the next push's spare is made after it.
  WaitForGetsInFlight(mirror);
  auto get = ParseGitGetParams(Json::object(), s);
  if (!get.ok()) return;
  const GitCheckoutOptions options = CheckoutOptions(s, branch, *get);
  Status kept = KeepSpare(SparePath(mirror, branch, get->CacheVariant()),
                          [&](const std::string& dir) -> Status {
                            BATON_RETURN_IF_ERROR(repo.CheckoutInto(head, dir, options));
                            if (get->submodules && fs::exists(fs::path(dir) / ".gitmodules")) {
                              return FailedPrecondition("submodules: no spare");
                            }
                            return CreateGitRefFilePlaceholders(dir);
                          });
  (void)kept;  // a get without a spare checks out afresh
}

class GitResourceType final : public ResourceType {
 public:
  Result<std::vector<Json>> Check(const ResourceContext& ctx, const Json& source,
                                  const Json& from) override {
    BATON_ASSIGN_OR_RETURN(GitSource s, ParseGitSource(source));
    s.remote.cancelled = ctx.cancelled;
    const std::string mirror = MirrorPath(ctx, s);
    std::unique_ptr<GitRepository> repo;
    std::string branch, head;
    Result<std::vector<Json>> versions = std::vector<Json>{};
    const FetchClock::time_point asked = FetchClock::now();
    {
      MirrorLock lock(mirror);
      std::string default_branch;
      // A push's get that took the lock first fetched the remote as this check would.
      BATON_ASSIGN_OR_RETURN(repo, FetchMirrorUnlessFetchedSince(ctx, s, asked, &default_branch));
      if (s.TracksTags()) return TagVersions(*repo, s, from);
      BATON_ASSIGN_OR_RETURN(branch, ResolveBranch(s, default_branch));
      BATON_ASSIGN_OR_RETURN(head, BranchHead(*repo, s, branch));
      versions = CommitVersions(*repo, s, head, from);
      if (!versions.ok()) return versions.status().WithContext(s.Describe("git check"));
    }
    // Outside the mirror's lock: a get of a push that comes meanwhile does not wait for it.
    KeepBranchSpare(mirror, *repo, s, branch, head);
    return versions;
  }

  Result<FetchedVersion> Get(const ResourceContext& ctx, const Json& source, const Json& version,
                             const Json& params, const std::string& dir) override {
    BATON_ASSIGN_OR_RETURN(GitSource s, ParseGitSource(source));
    s.remote.cancelled = ctx.cancelled;
    BATON_ASSIGN_OR_RETURN(GitGetParams get, ParseGitGetParams(params, s));
    std::string ref = version.is_object() ? version.value("ref", std::string()) : "";
    if (ref.empty()) {
      return InvalidArgument(s.Describe("git get") + ": version must look like {ref: <sha>}, got " +
                             version.dump());
    }
    const std::string mirror = MirrorPath(ctx, s);
    GetInFlight in_flight(mirror);  // ended after the lock: a check waiting for it then runs
    MirrorLock lock(mirror);
    std::string default_branch;
    // A version the mirror already has needs no fetch (checks keep the mirror up to date).
    std::unique_ptr<GitRepository> repo = MirrorWithCommit(ctx, s, ref, &default_branch);
    bool fetched = !repo;
    if (!repo) {
      BATON_ASSIGN_OR_RETURN(repo, FetchMirror(ctx, s, &default_branch));
    }
    auto sha = repo->ResolveCommit(ref);
    if (!sha.ok()) {
      return NotFound(s.Describe("git get") + ": version " + ref +
                      " is not in the remote (force-pushed away, or a push named a commit the "
                      "remote does not have): check the resource again");
    }
    std::string branch = s.branch.empty() ? default_branch : s.branch;
    if (!s.TracksTags()) {
      // A version may come from a push's payload, before any check (a webhook): the commit
      // must be on the branch, as a check would have found it. The mirror's branch may be
      // older than the commit (it came with another branch): fetch once before refusing.
      BATON_ASSIGN_OR_RETURN(bool on_branch, OnBranch(*repo, *sha, branch));
      if (!on_branch && !fetched) {
        BATON_ASSIGN_OR_RETURN(repo, FetchMirror(ctx, s, &default_branch));
        BATON_ASSIGN_OR_RETURN(on_branch, OnBranch(*repo, *sha, branch));
      }
      if (!on_branch) {
        return FailedPrecondition(
            s.Describe("git get") + ": commit " + *sha + " is not on branch " + branch +
            " (a push named a commit the branch does not contain, or the branch was "
            "force-pushed since): check the resource again and run the job on a version it "
            "finds, or push the commit to " +
            branch);
      }
    }
    const GitCheckoutOptions checkout = CheckoutOptions(s, branch, get);
    BATON_ASSIGN_OR_RETURN(GitCommit commit, repo->Commit(*sha));
    const std::string spare = SparePath(mirror, checkout.branch, get.CacheVariant());
    if (!s.TracksTags()) WantSpares(mirror);
    Status st = GetThroughCheckoutCache(
        CheckoutCachePath(mirror, *sha, checkout.branch, get.CacheVariant()), dir,
        [&](const std::string& into) {
          if (!TakeSpare(spare, mirror, *sha, checkout, into)) {
            BATON_RETURN_IF_ERROR(repo->CheckoutInto(*sha, into, checkout));
          }
          if (get.submodules) {
            BATON_ASSIGN_OR_RETURN(auto checkout_repo, OpenGitCheckout(into));
            BATON_RETURN_IF_ERROR(checkout_repo->UpdateSubmodules(
                get.submodule_paths, get.submodule_recursive, s.remote));
          }
          return Status::Ok();
        });
    // After the copy out of the checkout cache: the ref (a tag's name) and the params that
    // shape the files differ between gets of one commit.
    std::vector<MetadataField> metadata;
    if (st.ok()) st = WriteRefFiles(*repo, dir, ref, commit, branch, s, get, &metadata);
    if (!st.ok()) return Status(st.code(), s.Describe("git get") + ": " + st.message());
    LogLine(ctx, "fetched " + sha->substr(0, 7) + " " +
                     std::string(Trim(Split(commit.message, '\n')[0])));
    return FetchedVersion{version, metadata};
  }

  Result<FetchedVersion> Put(const ResourceContext& ctx, const Json& source, const Json& params,
                             const std::string& dir) override {
    BATON_ASSIGN_OR_RETURN(GitSource s, ParseGitSource(source));
    s.remote.cancelled = ctx.cancelled;
    BATON_ASSIGN_OR_RETURN(GitPutOutcome out, PutGit(ctx, s, params, dir));
    BATON_ASSIGN_OR_RETURN(auto repo, OpenGitCheckout(out.repo_dir));
    BATON_ASSIGN_OR_RETURN(GitCommit commit, repo->Commit(out.sha));
    return FetchedVersion{Json{{"ref", out.sha}},
                          CommitMetadata(commit, out.branch, CommitTags(*repo, commit.sha))};
  }
};

}  // namespace

std::unique_ptr<ResourceType> MakeGitResourceType() { return std::make_unique<GitResourceType>(); }

}  // namespace baton::workers::resources
