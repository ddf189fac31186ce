// MoveCheckout (git_spare.h) on libgit2: a spare clone of the mirror moved to another commit with
// the steps a clone makes, each writing only what differs from the spare.
#include <filesystem>
#include <vector>

#include "resources/git_spare.h"
#include "resources/libgit2_repository.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

// The mirror's object files in the checkout, as a local clone leaves them (GIT_CLONE_LOCAL
// hard-links every file under objects/): links to the files the checkout lacks, and none of the
// files the mirror no longer has.
Status LinkMirrorObjects(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::recursive_directory_iterator it(from, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path target = to / it->path().lexically_relative(from);
    if (it->is_directory(ec)) {
      fs::create_directory(target, ec);
    } else if (!fs::exists(target, ec)) {
      fs::create_hard_link(it->path(), target, ec);
      if (ec) {  // another filesystem: a copy
        ec.clear();
        fs::copy_file(it->path(), target, ec);
      }
    }
    if (ec)
      return IoError("link " + it->path().string() + " into " + to.string() + ": " + ec.message());
  }
  if (ec) return IoError("read " + from.string() + ": " + ec.message());
  std::vector<fs::path> gone;
  for (fs::recursive_directory_iterator own(to, ec); !ec && own != end; own.increment(ec)) {
    if (!own->is_directory(ec) && !fs::exists(from / own->path().lexically_relative(to), ec)) {
      gone.push_back(own->path());
    }
  }
  for (const fs::path& p : gone) fs::remove(p, ec);
  return Status::Ok();
}

// Drops the spare's tags: the fetch that follows brings back those a clone of the mirror would
// have now, as new refs, so that FETCH_HEAD lists them as the clone's does (libgit2 lists a
// followed tag only when it creates it). Never more refs written than a clone writes.
Status DropTags(git_repository* checkout) {
  git_strarray names{};
  int rc = git_tag_list(&names, checkout);
  if (rc != 0) return GitError(rc, "list the spare's tags");
  for (size_t i = 0; i < names.count && rc == 0; ++i)
    rc = git_tag_delete(checkout, names.strings[i]);
  git_strarray_dispose(&names);
  return rc == 0 ? Status::Ok() : GitError(rc, "drop the spare's tags");
}

// Origin's branches (pruned) and the tags as `tags` says, fetched from the mirror with the
// refspec and tag rule the clone used. The objects are there already: nothing is downloaded.
Status FetchFromMirror(git_repository* checkout, const std::string& mirror_path,
                       GitCheckoutOptions::Tags tags) {
  git_remote_create_options create = GIT_REMOTE_CREATE_OPTIONS_INIT;
  create.repository = checkout;
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  git_remote* raw = nullptr;
  int rc = git_remote_create_with_opts(&raw, mirror_path.c_str(), &create);
  if (rc != 0) return GitError(rc, "fetch into the spare");
  RemotePtr remote(raw);
  git_fetch_options fetch = GIT_FETCH_OPTIONS_INIT;
  fetch.prune = GIT_FETCH_PRUNE;
  fetch.download_tags = DownloadTags(tags);
  char spec[] = "+refs/heads/*:refs/remotes/origin/*";
  char* specs[] = {spec};
  git_strarray refspecs{specs, 1};
  rc = git_remote_fetch(remote.get(), &refspecs, &fetch, "fetch");
  return rc == 0 ? Status::Ok() : GitError(rc, "fetch into the spare");
}

// The tree of `oid` into the working tree and the index. Before HEAD moves: the old HEAD is the
// baseline, so files the new tree lacks are removed, not left as untracked.
Status CheckOutTree(git_repository* repo, const git_oid& oid, const std::string& sha) {
  git_commit* c = nullptr;
  int rc = git_commit_lookup(&c, repo, &oid);
  if (rc != 0) return GitError(rc, "look up " + sha + " in the spare");
  CommitPtr commit(c);
  git_checkout_options checkout = GIT_CHECKOUT_OPTIONS_INIT;
  checkout.checkout_strategy = GIT_CHECKOUT_FORCE;
  rc = git_checkout_tree(repo, reinterpret_cast<git_object*>(c), &checkout);
  return rc == 0 ? Status::Ok() : GitError(rc, "check out " + sha + " in the spare");
}

Result<RepoPtr> OpenRepository(const std::string& path, bool bare) {
  git_repository* raw = nullptr;
  int rc =
      bare ? git_repository_open_bare(&raw, path.c_str())
           : git_repository_open_ext(&raw, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  if (rc != 0) return GitError(rc, "open " + path);
  return RepoPtr(raw);
}

}  // namespace

Status MoveCheckout(const std::string& mirror_path, const std::string& dir, const std::string& sha,
                    const GitCheckoutOptions& options) {
  EnsureLibgit2();
  git_oid oid;
  if (sha.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, sha.c_str()) != 0) {
    return InvalidArgument("'" + sha + "' is not a full 40-character commit sha");
  }
  BATON_ASSIGN_OR_RETURN(RepoPtr mirror, OpenRepository(mirror_path, /*bare=*/true));
  const fs::path git_dir = fs::path(dir) / ".git";
  BATON_RETURN_IF_ERROR(LinkMirrorObjects(fs::path(git_repository_path(mirror.get())) / "objects",
                                          git_dir / "objects"));
  BATON_ASSIGN_OR_RETURN(RepoPtr repo, OpenRepository(dir, /*bare=*/false));
  BATON_RETURN_IF_ERROR(DropTags(repo.get()));
  // The url as the clone had it (FETCH_HEAD names it): the mirror's path with its trailing '/'.
  BATON_RETURN_IF_ERROR(
      FetchFromMirror(repo.get(), git_repository_path(mirror.get()), options.tags));
  if (options.tags == GitCheckoutOptions::Tags::kAll) {
    BATON_RETURN_IF_ERROR(CopyAllTags(mirror.get(), repo.get()));
  }
  BATON_RETURN_IF_ERROR(CheckOutTree(repo.get(), oid, sha));
  BATON_RETURN_IF_ERROR(PointHead(repo.get(), oid, sha, options));
  std::error_code ec;
  fs::remove(git_dir / "shallow", ec);  // the spare's, for its commit
  return options.depth > 0 ? CutHistory(repo.get(), oid, options.depth, dir) : Status::Ok();
}

}  // namespace baton::workers::resources
