// Prepared checkouts of the git resource, one per version, next to the resource's bare mirror:
// <mirror>.checkouts/<sha>[@<branch>]. A `get` copies a prepared checkout into the step's
// directory instead of cloning and checking out again. Everything is copied (hard links would
// let a task that chmods and rewrites an object file reach the cache's inodes), so what a task
// does to its copy never reaches the cache. Private to workers/.
//
// Thread-safety: the caller holds the MirrorLock of the mirror for every call.
#pragma once

#include <functional>
#include <string>

#include "baton/common/status.h"

namespace baton::workers::resources {

// How many prepared checkouts a mirror keeps (least recently used ones go first).
inline constexpr size_t kCheckoutsKept = 4;
// How many commits got once (without a prepared checkout yet) a mirror remembers, in one file
// beside its prepared checkouts.
inline constexpr size_t kMarkersKept = 64;

// The prepared checkout of `sha` on local branch `branch` ("" = detached) for `mirror_path`;
// `variant` tells apart checkouts made with different get params ("" = the defaults).
std::string CheckoutCachePath(const std::string& mirror_path, const std::string& sha,
                              const std::string& branch, const std::string& variant = "");

// The first time: prepares `dir` (existing, empty, created if missing) with `prepare(dir)` and
// remembers that the commit was got. The next times: makes sure the checkout at `cached`
// exists, preparing it with `prepare` into a temporary directory renamed into place when
// `prepare` succeeds; then copies it into `dir` and evicts old checkouts beyond kCheckoutsKept.
Status GetThroughCheckoutCache(const std::string& cached, const std::string& dir,
                               const std::function<Status(const std::string& dir)>& prepare);

// Makes the directory `path` whole or not at all: `prepare` fills `path`.tmp (what a crash left
// there removed first), which is renamed to `path` when it succeeds; on any failure nothing is
// left at either path. Shared by the prepared checkouts and the spare checkouts (git_spare.h).
Status PrepareDirectoryWhole(const std::string& path,
                             const std::function<Status(const std::string& dir)>& prepare);

// Copies the tree `from` into the directory `to` (created if missing): files with their modes,
// symlinks recreated.
Status CopyCheckout(const std::string& from, const std::string& to);

}  // namespace baton::workers::resources
