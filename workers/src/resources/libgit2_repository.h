// Libgit2Repository: GitRepository on libgit2 1.5 (no shallow clones). Private to workers/.
// Not thread-safe: one thread at a time per object (see git_repository.h).
#pragma once

#include <git2.h>

#include <memory>
#include <string>

#include "baton/workers/git_repository.h"

namespace baton::workers::resources {

// Calls git_libgit2_init once per process.
void EnsureLibgit2();

// The last libgit2 error as a Status (`what` says what was being done), secrets of `remote`
// removed. Classifies authentication, certificate and network failures with advice.
Status GitError(int code, const std::string& what, const GitRemote* remote = nullptr);

// Deleters for RAII over libgit2 handles.
template <typename T, void (*Free)(T*)>
struct GitDeleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using GitPtr = std::unique_ptr<T, GitDeleter<T, Free>>;

using RepoPtr = GitPtr<git_repository, git_repository_free>;
using RemotePtr = GitPtr<git_remote, git_remote_free>;
using CommitPtr = GitPtr<git_commit, git_commit_free>;
using TreePtr = GitPtr<git_tree, git_tree_free>;

// `url` rewritten by the repository's `url.<base>.insteadOf` config (longest prefix wins).
std::string ApplyInsteadOf(git_repository* repo, const std::string& url);
// An in-memory remote for `remote.url` (insteadOf applied) to fetch from or push to; `what`
// starts the error message.
Result<RemotePtr> OpenAnonymousRemote(git_repository* repo, const GitRemote& remote,
                                      const std::string& what);
// git_clone_options.remote_cb: creates the clone's named remote without the leaking lookup.
int CreateCloneRemote(git_remote** out, git_repository* repo, const char* name, const char* url,
                      void* payload);

// Callbacks for credentials and certificates for `remote`; the payload must outlive the call.
struct RemoteAuth {
  const GitRemote* remote = nullptr;
  std::string key_file;  // private key written to a 0600 temp file, removed by the destructor
  int attempts = 0;
  std::vector<std::pair<std::string, std::string>> rejected;  // push results
  ~RemoteAuth();
};
void FillCallbacks(git_remote_callbacks* callbacks, RemoteAuth* auth);

class Libgit2Repository final : public GitRepository {
 public:
  explicit Libgit2Repository(RepoPtr repo) : repo_(std::move(repo)) {}

  Result<std::string> Fetch(const GitRemote& remote,
                            const std::vector<std::string>& refspecs) override;
  Result<std::string> ResolveCommit(const std::string& ref) override;
  Result<bool> IsAncestor(const std::string& ancestor, const std::string& descendant) override;
  Result<std::vector<std::string>> Log(const std::string& head, const std::string& hide,
                                       size_t limit) override;
  Result<std::vector<std::string>> ChangedPaths(const std::string& sha) override;
  Result<GitCommit> Commit(const std::string& sha) override;
  Result<std::vector<std::pair<std::string, std::string>>> Tags() override;
  Result<std::string> Describe(const std::string& sha, const GitDescribeOptions& options) override;
  Status SetConfig(const std::map<std::string, std::string>& entries) override;
  Status CheckoutInto(const std::string& sha, const std::string& dir,
                      const GitCheckoutOptions& options) override;
  Status UpdateSubmodules(const std::vector<std::string>& paths, bool recursive,
                          const GitRemote& remote) override;
  Result<std::string> Rebase(const std::string& onto, const GitSignature& committer) override;
  Status CreateTag(const std::string& name, const std::string& sha, const std::string& message,
                   const GitSignature& tagger, bool force) override;
  Result<GitPushResult> Push(const GitRemote& remote,
                             const std::vector<std::string>& refspecs) override;

  git_repository* raw() const { return repo_.get(); }

 private:
  Result<git_oid> ParseOid(const std::string& sha) const;
  const std::string Path() const;

  RepoPtr repo_;
};

// git_signature for `sig` (caller frees with git_signature_free).
Result<git_signature*> MakeSignature(const GitSignature& sig);

// The steps of a checkout (libgit2_write.cpp), shared with moving a spare (libgit2_spare.cpp).
// The clone's origin url, HEAD (on `options.branch` at `oid`, or detached) and the branch's
// upstream, under one config lock; the config is left as it is when it has them already (a
// spare moved to another commit).
Status PointHead(git_repository* repo, const git_oid& oid, const std::string& sha,
                 const GitCheckoutOptions& options);
git_remote_autotag_option_t DownloadTags(GitCheckoutOptions::Tags tags);
// Every tag of `from` (the mirror) into `to`, also tags on commits no branch contains.
Status CopyAllTags(git_repository* from, git_repository* to);
// Merges the smallest packs of `repo` into one when it has more than `limit` (libgit2_packs.cpp):
// each fetch adds a pack, and every clone or spare of a mirror links each of its packs. Objects
// are kept, also those no ref reaches. Callers hold the repository's lock (a mirror's MirrorLock).
Status CompactPacks(git_repository* repo, size_t limit);

// As `git clone --depth N`: .git/shallow lists the commits `depth` steps from `head`.
Status CutHistory(git_repository* repo, const git_oid& head, int depth, const std::string& dir);

}  // namespace baton::workers::resources
