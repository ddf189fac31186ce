// Libgit2Repository: the operations that write (checkout, rebase, tag, push).
#include "resources/libgit2_repository.h"
#include "resources/libgit2_stream.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "baton/common/strings.h"

namespace baton::workers::resources {
namespace {

using ReferencePtr = GitPtr<git_reference, git_reference_free>;
using SignaturePtr = GitPtr<git_signature, git_signature_free>;
using AnnotatedPtr = GitPtr<git_annotated_commit, git_annotated_commit_free>;

// Records origin/<branch> as the branch's upstream when it exists, as `git checkout` does, by
// writing branch.<branch>.remote/merge itself: git_branch_set_upstream looks the remote up, and
// libgit2 1.5 leaks pcre2 match data (~20 KB) on every remote lookup (found by LeakSanitizer).
void SetUpstream(git_repository* repo, const std::string& branch) {
  git_oid tracking;
  if (git_reference_name_to_id(&tracking, repo, ("refs/remotes/origin/" + branch).c_str()) != 0) {
    git_error_clear();  // best effort: the mirror may not have it
    return;
  }
  git_config* c = nullptr;
  if (git_repository_config(&c, repo) != 0) {
    git_error_clear();
    return;
  }
  GitPtr<git_config, git_config_free> config(c);
  if (git_config_set_string(c, ("branch." + branch + ".remote").c_str(), "origin") != 0 ||
      git_config_set_string(c, ("branch." + branch + ".merge").c_str(),
                            ("refs/heads/" + branch).c_str()) != 0) {
    git_error_clear();
  }
}

// Points `branch` at `oid` and HEAD at `branch`. The clone's HEAD is on the mirror's HEAD branch
// (`master` for a mirror libgit2 made, often the branch itself): the branch is written as a plain
// reference, which libgit2 allows for the branch HEAD is on (git_branch_create refuses it), and
// HEAD is written only when it is elsewhere. Every ref update is a lock file, i.e. a new inode,
// and new inodes are most of what a checkout costs here (docs/benchmarks.md, 2026-12-04 10:45).
Status PointBranch(git_repository* repo, const git_oid& oid, const std::string& branch,
                   bool set_upstream) {
  git_commit* c = nullptr;
  int rc = git_commit_lookup(&c, repo, &oid);
  if (rc != 0) return GitError(rc, "look up the commit to check out");
  CommitPtr commit(c);
  const std::string name = "refs/heads/" + branch;
  git_reference* ref = nullptr;
  const std::string log = "branch: Created from " + std::string(git_oid_tostr_s(&oid));
  rc = git_reference_create(&ref, repo, name.c_str(), &oid, /*force=*/1, log.c_str());
  if (rc != 0) return GitError(rc, "create branch " + branch);
  ReferencePtr ref_ptr(ref);
  if (set_upstream) SetUpstream(repo, branch);
  git_reference* head = nullptr;
  if (git_reference_lookup(&head, repo, "HEAD") == 0) {
    ReferencePtr head_ptr(head);
    const char* target = git_reference_type(head) == GIT_REFERENCE_SYMBOLIC
                             ? git_reference_symbolic_target(head)
                             : nullptr;
    if (target != nullptr && name == target) return Status::Ok();
  }
  git_error_clear();
  rc = git_repository_set_head(repo, name.c_str());
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

// Whether `key` is `want` in the config.
bool ConfigHas(git_config* config, const std::string& key, const std::string& want) {
  git_buf value = GIT_BUF_INIT;
  const bool same =
      git_config_get_string_buf(&value, config, key.c_str()) == 0 && want == value.ptr;
  git_buf_dispose(&value);
  git_error_clear();
  return same;
}

// Whether the config already holds what PointHead writes (a spare made with the same options):
// origin's url and, when origin has the branch, the branch's upstream.
bool ConfigPointsAlready(git_repository* repo, const GitCheckoutOptions& options) {
  git_config* c = nullptr;
  if (git_repository_config_snapshot(&c, repo) != 0) {
    git_error_clear();
    return false;
  }
  GitPtr<git_config, git_config_free> config(c);
  if (!ConfigHas(c, "remote.origin.url", options.origin_url)) return false;
  if (options.branch.empty()) return true;
  git_oid tracking;
  const std::string& b = options.branch;
  if (git_reference_name_to_id(&tracking, repo, ("refs/remotes/origin/" + b).c_str()) != 0) {
    git_error_clear();
    return true;  // SetUpstream writes nothing
  }
  return ConfigHas(c, "branch." + b + ".remote", "origin") &&
         ConfigHas(c, "branch." + b + ".merge", "refs/heads/" + b);
}

Status PointRefs(git_repository* repo, const git_oid& oid, const std::string& sha,
                 const GitCheckoutOptions& options, bool set_upstream) {
  if (!options.branch.empty()) return PointBranch(repo, oid, options.branch, set_upstream);
  int rc = git_repository_set_head_detached(repo, &oid);
  return rc == 0 ? Status::Ok() : GitError(rc, "detach HEAD at " + sha);
}

}  // namespace

// The clone's origin url, HEAD (on `options.branch` at `oid`, or detached there) and the branch's
// upstream, with the config written once: each config write outside a lock is a config.lock
// renamed over config, a new inode and a deleted one (git_config_lock keeps them in memory).
Status PointHead(git_repository* repo, const git_oid& oid, const std::string& sha,
                 const GitCheckoutOptions& options) {
  // A spare moved to another commit has them: no config.lock, no config replaced.
  if (ConfigPointsAlready(repo, options)) return PointRefs(repo, oid, sha, options, false);
  git_config* c = nullptr;
  int rc = git_repository_config(&c, repo);
  if (rc != 0) return GitError(rc, "open the checkout's config");
  GitPtr<git_config, git_config_free> config(c);
  git_transaction* t = nullptr;
  if ((rc = git_config_lock(&t, c)) != 0) return GitError(rc, "lock the checkout's config");
  GitPtr<git_transaction, git_transaction_free> tx(t);  // freed uncommitted: nothing written
  rc = git_remote_set_url(repo, "origin", options.origin_url.c_str());
  if (rc != 0) return GitError(rc, "set origin url");
  BATON_RETURN_IF_ERROR(PointRefs(repo, oid, sha, options, true));
  rc = git_transaction_commit(t);
  return rc == 0 ? Status::Ok() : GitError(rc, "write the checkout's config");
}

git_remote_autotag_option_t DownloadTags(GitCheckoutOptions::Tags tags) {
  switch (tags) {
    case GitCheckoutOptions::Tags::kAll:
      return GIT_REMOTE_DOWNLOAD_TAGS_ALL;
    case GitCheckoutOptions::Tags::kNone:
      return GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    case GitCheckoutOptions::Tags::kFollow:
      break;
  }
  return GIT_REMOTE_DOWNLOAD_TAGS_AUTO;
}

// Every tag of `from` (the mirror) into `to`, also tags on commits no branch contains.
Status CopyAllTags(git_repository* from, git_repository* to) {
  git_strarray names{};
  int rc = git_tag_list(&names, from);
  if (rc != 0) return GitError(rc, "list the mirror's tags");
  for (size_t i = 0; i < names.count && rc == 0; ++i) {
    std::string ref = std::string("refs/tags/") + names.strings[i];
    git_oid target;
    if (git_reference_name_to_id(&target, from, ref.c_str()) != 0) continue;
    git_reference* created = nullptr;
    rc = git_reference_create(&created, to, ref.c_str(), &target, /*force=*/1, "fetch_tags");
    git_reference_free(created);
  }
  git_strarray_dispose(&names);
  return rc == 0 ? Status::Ok() : GitError(rc, "copy tags into the checkout");
}

// As `git clone --depth N`: the commits N steps from `head` are recorded in .git/shallow, so
// git sees only N commits of history. (libgit2 1.5 cannot fetch shallow; the objects stay.)
Status CutHistory(git_repository* repo, const git_oid& head, int depth, const std::string& dir) {
  std::map<std::string, int> seen;
  std::vector<std::pair<git_oid, int>> queue = {{head, 1}};
  std::vector<std::string> boundary;
  for (size_t i = 0; i < queue.size(); ++i) {
    auto [oid, level] = queue[i];
    git_commit* raw = nullptr;
    int rc = git_commit_lookup(&raw, repo, &oid);
    if (rc != 0) return GitError(rc, "read history for depth");
    CommitPtr commit(raw);
    unsigned parents = git_commit_parentcount(raw);
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &oid);
    if (level == depth) {
      if (parents > 0) boundary.push_back(hex);
      continue;
    }
    for (unsigned p = 0; p < parents; ++p) {
      const git_oid* parent = git_commit_parent_id(raw, p);
      char phex[GIT_OID_HEXSZ + 1];
      git_oid_tostr(phex, sizeof phex, parent);
      if (seen.emplace(phex, level + 1).second) queue.push_back({*parent, level + 1});
    }
  }
  if (boundary.empty()) return Status::Ok();  // the history is no deeper than `depth`
  std::sort(boundary.begin(), boundary.end());
  std::string text;
  for (const auto& sha : boundary) text += sha + "\n";
  std::string path = dir + "/.git/shallow";
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return IoError("write " + path + ": " + std::strerror(errno));
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  return ok ? Status::Ok() : IoError("write " + path + ": " + std::strerror(errno));
}

namespace {

struct SubmoduleSelection {
  const std::vector<std::string>* paths;
  std::vector<std::string> chosen;
};

int CollectSubmodule(git_submodule* sm, const char* /*name*/, void* payload) {
  auto* selection = static_cast<SubmoduleSelection*>(payload);
  std::string path = git_submodule_path(sm);
  const auto& wanted = *selection->paths;
  if (wanted.empty() || std::find(wanted.begin(), wanted.end(), path) != wanted.end()) {
    selection->chosen.push_back(path);
  }
  return 0;
}

}  // namespace

Status Libgit2Repository::UpdateSubmodules(const std::vector<std::string>& paths, bool recursive,
                                           const GitRemote& remote) {
  SubmoduleSelection selection{&paths, {}};
  int rc = git_submodule_foreach(repo_.get(), &CollectSubmodule, &selection);
  if (rc != 0) return GitError(rc, "list submodules (.gitmodules)");
  ScopedGitIoLimits limits(IoLimitsOf(remote));
  for (const std::string& path : selection.chosen) {
    git_submodule* raw = nullptr;
    rc = git_submodule_lookup(&raw, repo_.get(), path.c_str());
    if (rc != 0) return GitError(rc, "look up submodule " + path);
    GitPtr<git_submodule, git_submodule_free> sm(raw);
    RemoteAuth auth;
    auth.remote = &remote;
    git_submodule_update_options opts = GIT_SUBMODULE_UPDATE_OPTIONS_INIT;
    FillCallbacks(&opts.fetch_opts.callbacks, &auth);
    rc = git_submodule_update(sm.get(), /*init=*/1, &opts);
    if (rc != 0) {
      return GitError(
          rc, "check out submodule " + path + " (set params.submodules: none to skip it)", &remote);
    }
    if (!recursive) continue;
    git_repository* sub = nullptr;
    if ((rc = git_submodule_open(&sub, sm.get())) != 0)
      return GitError(rc, "open submodule " + path);
    Libgit2Repository nested{RepoPtr(sub)};
    BATON_RETURN_IF_ERROR(nested.UpdateSubmodules({}, true, remote));
  }
  return Status::Ok();
}

Status Libgit2Repository::CheckoutInto(const std::string& sha, const std::string& dir,
                                       const GitCheckoutOptions& options) {
  BATON_ASSIGN_OR_RETURN(git_oid oid, ParseOid(sha));
  git_clone_options opts = GIT_CLONE_OPTIONS_INIT;
  opts.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE;
  opts.local = GIT_CLONE_LOCAL;  // hard-links the mirror's packs: fast and cheap
  opts.remote_cb = &CreateCloneRemote;
  opts.fetch_opts.download_tags = DownloadTags(options.tags);
  git_repository* raw = nullptr;
  int rc = git_clone(&raw, Path().c_str(), dir.c_str(), &opts);
  if (rc != 0) return GitError(rc, "clone into " + dir);
  RepoPtr repo(raw);
  if (options.tags == GitCheckoutOptions::Tags::kAll) {
    BATON_RETURN_IF_ERROR(CopyAllTags(repo_.get(), repo.get()));
  }
  BATON_RETURN_IF_ERROR(PointHead(repo.get(), oid, sha, options));
  git_checkout_options checkout = GIT_CHECKOUT_OPTIONS_INIT;
  checkout.checkout_strategy = GIT_CHECKOUT_FORCE;
  rc = git_checkout_head(repo.get(), &checkout);
  if (rc != 0) return GitError(rc, "check out " + sha + " into " + dir);
  return options.depth > 0 ? CutHistory(repo.get(), oid, options.depth, dir) : Status::Ok();
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
