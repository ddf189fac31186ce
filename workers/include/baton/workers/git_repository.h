// GitRepository: the git operations Baton's built-in `git` resource type needs, on one
// repository on disk (a bare mirror kept per resource, or a working checkout). The real
// implementation is Libgit2Repository (libgit2); tests run it against real repositories.
//
// Thread-safety: an object is used by one thread at a time. Two objects may open the same path
// only if the caller serialises writers (the git resource holds a per-mirror lock).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "baton/common/clock.h"
#include "baton/common/duration.h"
#include "baton/common/status.h"

namespace baton::workers {

// Where to fetch from / push to, and how to authenticate. `password` and `private_key` are
// secrets: implementations never put them in messages or logs.
struct GitRemote {
  std::string url;  // local path, file://, git://, http(s)://, ssh:// or scp-like user@host:path
  std::string username;
  std::string password;
  std::string private_key;  // PEM text, for ssh
  std::string private_key_passphrase;
  bool skip_ssl_verification = false;
  // Network limits: give up on a connection not made within `connect_timeout`, or on a remote
  // that sends nothing for `idle_timeout`; stop at once when `*cancelled` becomes true.
  Duration connect_timeout = std::chrono::seconds(30);
  Duration idle_timeout = std::chrono::minutes(5);
  const std::atomic<bool>* cancelled = nullptr;
};

struct GitSignature {
  std::string name;
  std::string email;
  SystemTime when;
  int offset_minutes = 0;  // the signer's UTC offset
};

struct GitCommit {
  std::string sha;
  GitSignature author;
  GitSignature committer;
  std::string message;
  std::vector<std::string> parents;
};

// How CheckoutInto makes a working checkout.
struct GitCheckoutOptions {
  std::string branch;      // local branch at the commit ("" = detached HEAD)
  std::string origin_url;  // what `origin` points at in the checkout
  // Tags in the checkout: those on the fetched history (git's default), every tag, or none.
  enum class Tags { kFollow, kAll, kNone };
  Tags tags = Tags::kFollow;
  int depth = 0;  // > 0: history is cut after this many commits (.git/shallow), as --depth
};

// What Describe reports, as `git describe`'s options say.
struct GitDescribeOptions {
  bool tags = false;         // --tags: lightweight tags count too (else annotated ones only)
  bool always = false;       // --always: the abbreviated sha when no tag is reachable
  bool long_format = false;  // --long: "<tag>-0-g<sha>" even on the tag itself
  int abbrev = 7;            // --abbrev=N: digits of the sha (at least; more when ambiguous)
};

// The outcome of a push: `rejected` names refs the remote refused, with its reason.
struct GitPushResult {
  std::vector<std::pair<std::string, std::string>> rejected;
};

class GitRepository {
 public:
  virtual ~GitRepository() = default;

  // Fetches `refspecs` ("+refs/heads/*:refs/heads/*"), pruning refs gone from the remote.
  // Returns the remote's default branch ("main"; "" when it has none).
  virtual Result<std::string> Fetch(const GitRemote& remote,
                                    const std::vector<std::string>& refspecs) = 0;
  // The commit `ref` ("refs/heads/main", "HEAD", a sha) points to; NotFound when absent.
  virtual Result<std::string> ResolveCommit(const std::string& ref) = 0;
  // Whether `ancestor` is `descendant` or one of its ancestors (false if either is unknown).
  virtual Result<bool> IsAncestor(const std::string& ancestor, const std::string& descendant) = 0;
  // Commits reachable from `head` and not from `hide` ("" hides nothing), newest first in
  // topological order; stops after `limit` commits (0 = no limit).
  virtual Result<std::vector<std::string>> Log(const std::string& head, const std::string& hide,
                                               size_t limit) = 0;
  // Paths a commit adds, changes or removes compared with its first parent.
  virtual Result<std::vector<std::string>> ChangedPaths(const std::string& sha) = 0;
  virtual Result<GitCommit> Commit(const std::string& sha) = 0;
  // Every tag as (name, commit sha it points to, peeled).
  virtual Result<std::vector<std::pair<std::string, std::string>>> Tags() = 0;
  // `git describe` of `sha`: "<tag>-<commits since>-g<abbreviated sha>", "<tag>" on the tag
  // itself; NotFound when no tag is reachable and !options.always.
  virtual Result<std::string> Describe(const std::string& sha,
                                       const GitDescribeOptions& options) = 0;
  // Sets repository config entries ("core.autocrlf" = "false").
  virtual Status SetConfig(const std::map<std::string, std::string>& entries) = 0;

  // Clones this repository into the empty directory `dir` as a working checkout of `sha`.
  virtual Status CheckoutInto(const std::string& sha, const std::string& dir,
                              const GitCheckoutOptions& options) = 0;
  // Initialises and checks out the submodules of this working checkout at their recorded
  // commits: those at `paths` (empty = all), and theirs too when `recursive`. Relative
  // submodule URLs resolve against `origin`; fetches use `remote`'s credentials and limits.
  virtual Status UpdateSubmodules(const std::vector<std::string>& paths, bool recursive,
                                  const GitRemote& remote) = 0;

  // Replays the commits of HEAD that `onto` lacks on top of `onto` (a working checkout).
  // FailedPrecondition naming the files on conflict (the repository is left as before).
  virtual Result<std::string> Rebase(const std::string& onto, const GitSignature& committer) = 0;
  // Creates tag `name` at `sha`: annotated when `message` is non-empty.
  virtual Status CreateTag(const std::string& name, const std::string& sha,
                           const std::string& message, const GitSignature& tagger, bool force) = 0;
  // Pushes `refspecs` ("HEAD:refs/heads/main", "+refs/tags/v1:refs/tags/v1").
  virtual Result<GitPushResult> Push(const GitRemote& remote,
                                     const std::vector<std::string>& refspecs) = 0;
};

// Opens the bare repository at `path`, creating it when missing (a mirror).
Result<std::unique_ptr<GitRepository>> OpenGitMirror(const std::string& path);
// Opens the existing working checkout at `path` (or one of its parents' repository).
Result<std::unique_ptr<GitRepository>> OpenGitCheckout(const std::string& path);

// `url` with any password removed ("https://user@host/repo"), for messages.
std::string RedactGitUrl(const std::string& url);

}  // namespace baton::workers
