// Libgit2Repository: the operations that write (checkout, rebase, tag, push).
#include "resources/libgit2_repository.h"
#include "resources/libgit2_stream.h"

#include "baton/common/strings.h"

namespace baton::workers::resources {
namespace {

using ReferencePtr = GitPtr<git_reference, git_reference_free>;
using SignaturePtr = GitPtr<git_signature, git_signature_free>;
using AnnotatedPtr = GitPtr<git_annotated_commit, git_annotated_commit_free>;

Status PointBranch(git_repository* repo, const git_oid& oid, const std::string& branch) {
  git_commit* c = nullptr;
  int rc = git_commit_lookup(&c, repo, &oid);
  if (rc != 0) return GitError(rc, "look up the commit to check out");
  CommitPtr commit(c);
  // The clone's HEAD is on the mirror's HEAD branch (`master` for a mirror libgit2 made), and
  // libgit2 refuses to move the branch HEAD is on: detach first, then point the branch.
  rc = git_repository_set_head_detached(repo, &oid);
  if (rc != 0) return GitError(rc, "detach HEAD to move branch " + branch);
  git_reference* ref = nullptr;
  rc = git_branch_create(&ref, repo, branch.c_str(), c, /*force=*/1);
  if (rc != 0) return GitError(rc, "create branch " + branch);
  ReferencePtr ref_ptr(ref);
  git_branch_set_upstream(ref, ("origin/" + branch).c_str());  // best effort: may not exist
  git_error_clear();
  rc = git_repository_set_head(repo, ("refs/heads/" + branch).c_str());
  return rc == 0 ? Status::Ok() : GitError(rc, "switch to branch " + branch);
}

// The files in conflict in the index, for the error message.
std::string ConflictedPaths(git_repository* repo) {
  git_index* index = nullptr;
  if (git_repository_index(&index, repo) != 0) return "";
  std::vector<std::string> paths;
  git_index_conflict_iterator* it = nullptr;
  if (git_index_conflict_iterator_new(&it, index) == 0) {
    const git_index_entry *ancestor, *ours, *theirs;
    while (git_index_conflict_next(&ancestor, &ours, &theirs, it) == 0) {
      const git_index_entry* e = ours ? ours : (theirs ? theirs : ancestor);
      if (e) paths.push_back(e->path);
    }
    git_index_conflict_iterator_free(it);
  }
  git_index_free(index);
  return Join(paths, ", ");
}

bool IndexHasConflicts(git_repository* repo) {
  git_index* index = nullptr;
  if (git_repository_index(&index, repo) != 0) return false;
  bool conflicts = git_index_has_conflicts(index);
  git_index_free(index);
  return conflicts;
}

}  // namespace

Status Libgit2Repository::CheckoutInto(const std::string& sha, const std::string& branch,
                                       const std::string& dir, const std::string& origin_url) {
  BATON_ASSIGN_OR_RETURN(git_oid oid, ParseOid(sha));
  git_clone_options opts = GIT_CLONE_OPTIONS_INIT;
  opts.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE;
  opts.local = GIT_CLONE_LOCAL;  // hard-links the mirror's packs: fast and cheap
  opts.remote_cb = &CreateCloneRemote;
  git_repository* raw = nullptr;
  int rc = git_clone(&raw, Path().c_str(), dir.c_str(), &opts);
  if (rc != 0) return GitError(rc, "clone into " + dir);
  RepoPtr repo(raw);
  rc = git_remote_set_url(repo.get(), "origin", origin_url.c_str());
  if (rc != 0) return GitError(rc, "set origin url");
  if (branch.empty()) {
    rc = git_repository_set_head_detached(repo.get(), &oid);
    if (rc != 0) return GitError(rc, "detach HEAD at " + sha);
  } else {
    BATON_RETURN_IF_ERROR(PointBranch(repo.get(), oid, branch));
  }
  git_checkout_options checkout = GIT_CHECKOUT_OPTIONS_INIT;
  checkout.checkout_strategy = GIT_CHECKOUT_FORCE;
  rc = git_checkout_head(repo.get(), &checkout);
  return rc == 0 ? Status::Ok() : GitError(rc, "check out " + sha + " into " + dir);
}

Result<std::string> Libgit2Repository::Rebase(const std::string& onto,
                                              const GitSignature& committer) {
  BATON_ASSIGN_OR_RETURN(git_oid onto_oid, ParseOid(onto));
  git_annotated_commit* raw_onto = nullptr;
  int rc = git_annotated_commit_lookup(&raw_onto, repo_.get(), &onto_oid);
  if (rc != 0) return GitError(rc, "look up " + onto);
  AnnotatedPtr onto_commit(raw_onto);
  BATON_ASSIGN_OR_RETURN(git_signature * sig_raw, MakeSignature(committer));
  SignaturePtr sig(sig_raw);
  git_rebase* raw = nullptr;
  git_rebase_options opts = GIT_REBASE_OPTIONS_INIT;
  rc = git_rebase_init(&raw, repo_.get(), nullptr, onto_commit.get(), onto_commit.get(), &opts);
  if (rc != 0) return GitError(rc, "start rebase onto " + onto);
  GitPtr<git_rebase, git_rebase_free> rebase(raw);
  git_rebase_operation* op = nullptr;
  while ((rc = git_rebase_next(&op, rebase.get())) == 0) {
    if (IndexHasConflicts(repo_.get())) {
      std::string files = ConflictedPaths(repo_.get());
      git_rebase_abort(rebase.get());
      return FailedPrecondition("rebase onto the remote branch hit conflicts in " + files +
                                ": merge the remote changes in a task before putting");
    }
    git_oid new_oid;
    rc = git_rebase_commit(&new_oid, rebase.get(), nullptr, sig.get(), nullptr, nullptr);
    if (rc != 0 && rc != GIT_EAPPLIED) {
      Status err = GitError(rc, "rebase commit");
      git_rebase_abort(rebase.get());
      return err;
    }
  }
  if (rc != GIT_ITEROVER) {
    Status err = GitError(rc, "rebase");
    git_rebase_abort(rebase.get());
    return err;
  }
  rc = git_rebase_finish(rebase.get(), sig.get());
  if (rc != 0) return GitError(rc, "finish rebase");
  return ResolveCommit("HEAD");
}

Status Libgit2Repository::CreateTag(const std::string& name, const std::string& sha,
                                    const std::string& message, const GitSignature& tagger,
                                    bool force) {
  BATON_ASSIGN_OR_RETURN(git_oid oid, ParseOid(sha));
  git_object* target = nullptr;
  int rc = git_object_lookup(&target, repo_.get(), &oid, GIT_OBJECT_COMMIT);
  if (rc != 0) return GitError(rc, "look up " + sha + " to tag");
  GitPtr<git_object, git_object_free> target_ptr(target);
  git_oid tag_oid;
  if (message.empty()) {
    rc = git_tag_create_lightweight(&tag_oid, repo_.get(), name.c_str(), target, force);
  } else {
    BATON_ASSIGN_OR_RETURN(git_signature * sig_raw, MakeSignature(tagger));
    SignaturePtr sig(sig_raw);
    rc = git_tag_create(&tag_oid, repo_.get(), name.c_str(), target, sig.get(), message.c_str(),
                        force);
  }
  if (rc == GIT_EEXISTS) {
    return AlreadyExists("tag " + name + " already exists: set params.force: true to move it");
  }
  if (rc != 0)
    return InvalidArgument("cannot create tag '" + name + "': " + GitError(rc, "tag").message());
  return Status::Ok();
}

Result<GitPushResult> Libgit2Repository::Push(const GitRemote& remote,
                                              const std::vector<std::string>& refspecs) {
  std::string what = "push to " + RedactGitUrl(remote.url);
  ScopedGitIoLimits limits(IoLimitsOf(remote));
  BATON_ASSIGN_OR_RETURN(RemotePtr r, OpenAnonymousRemote(repo_.get(), remote, what));
  RemoteAuth auth;
  auth.remote = &remote;
  git_push_options opts = GIT_PUSH_OPTIONS_INIT;
  FillCallbacks(&opts.callbacks, &auth);
  std::vector<char*> specs;
  for (const auto& s : refspecs) specs.push_back(const_cast<char*>(s.c_str()));
  git_strarray array{specs.data(), specs.size()};
  int rc = git_remote_push(r.get(), &array, &opts);
  if (rc != 0) {
    const git_error* e = git_error_last();
    std::string msg = e && e->message ? e->message : "";
    if (msg.find("non-fast-forward") != std::string::npos ||
        msg.find("cannot push") != std::string::npos) {
      return GitPushResult{{{"", msg}}};
    }
    return GitError(rc, what, &remote);
  }
  return GitPushResult{auth.rejected};
}

}  // namespace baton::workers::resources
