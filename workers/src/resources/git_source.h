// The `git` resource type's source configuration and the per-mirror lock. Private to workers/.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/git_repository.h"
#include "baton/workers/resource_type.h"

namespace baton::workers::resources {

struct GitSource {
  GitRemote remote;
  std::string branch;  // "" = the remote's default branch
  std::vector<std::string> paths;
  std::vector<std::string> ignore_paths;
  std::string tag_filter;  // glob: tags matching it are the versions
  std::string tag_regex;   // or: tags matching this whole POSIX extended regex (no tag_filter)
  std::optional<bool> fetch_tags;  // get: every tag (true), none (false), git's default (unset)
  bool disable_ci_skip = false;
  std::map<std::string, std::string> git_config;

  // "git check of https://host/repo branch main" (no secrets), to start messages.
  std::string Describe(const std::string& action) const;
  // Whether the versions are tags (tag_filter or tag_regex) rather than commits of a branch.
  bool TracksTags() const { return !tag_filter.empty() || !tag_regex.empty(); }
  // Whether tag `name` is a version (REQUIRES: TracksTags()).
  bool TagMatches(const std::string& name) const;
};

Result<GitSource> ParseGitSource(const Json& source);

// A `get`'s params, with git-resource's names and meaning.
struct GitGetParams {
  int depth = 0;  // > 0: the checkout's history is cut after this many commits
  GitCheckoutOptions::Tags tags = GitCheckoutOptions::Tags::kFollow;
  bool submodules = true;                    // false: `submodules: none`
  std::vector<std::string> submodule_paths;  // only these (empty = all)
  bool submodule_recursive = true;
  // The files beside the checkout, as git-resource writes them: .git/short_ref through this
  // printf format (%s: the first 7 characters of the ref), .git/commit_timestamp in this
  // `git log --date` format, .git/describe_ref as `git describe` with these options.
  std::string short_ref_format = "%s";
  std::string timestamp_format = "iso8601";
  GitDescribeOptions describe{false, true, false, 7};  // --always --dirty --broken
  // Tells apart prepared checkouts made with different params ("" for the defaults).
  std::string CacheVariant() const;
};

Result<GitGetParams> ParseGitGetParams(const Json& params, const GitSource& source);

// Whether `path` matches a pattern of `patterns` (fnmatch, or a directory prefix).
bool MatchesAny(const std::string& path, const std::vector<std::string>& patterns);

// Exclusive use of one mirror directory: a process-wide mutex per path plus flock(2) on
// <path>.lock against other processes. Released by the destructor.
class MirrorLock {
 public:
  explicit MirrorLock(const std::string& mirror_path);
  ~MirrorLock();
  MirrorLock(const MirrorLock&) = delete;
  MirrorLock& operator=(const MirrorLock&) = delete;

 private:
  std::shared_ptr<std::mutex> mu_;
  int fd_ = -1;
};

// The mirror of `source` under ctx.cache_dir (fetched), or a fresh temporary one when the
// context has no cache dir. Returns the opened repository; `default_branch` receives the
// remote's default branch. REQUIRES: the caller holds a MirrorLock on MirrorPath(ctx).
std::string MirrorPath(const ResourceContext& ctx, const GitSource& source);
Result<std::unique_ptr<GitRepository>> FetchMirror(const ResourceContext& ctx,
                                                   const GitSource& source,
                                                   std::string* default_branch);
// The mirror as a fetch that began at or after `asked` left it, when one did in this process
// (a check that waited for the mirror's lock while a push's get fetched: the remote as it was
// when the check was asked for, or newer); else FetchMirror. REQUIRES: the MirrorLock.
using FetchClock = std::chrono::steady_clock;
Result<std::unique_ptr<GitRepository>> FetchMirrorUnlessFetchedSince(
    const ResourceContext& ctx, const GitSource& source, FetchClock::time_point asked,
    std::string* default_branch);
// The mirror as it is, without fetching, when it already has commit `sha` (40 hex digits) and
// knows the branch to check out (source.branch, or the remote's default branch remembered by
// the last fetch); null otherwise. REQUIRES: the caller holds the MirrorLock.
std::unique_ptr<GitRepository> MirrorWithCommit(const ResourceContext& ctx, const GitSource& source,
                                                const std::string& sha,
                                                std::string* default_branch);

}  // namespace baton::workers::resources
