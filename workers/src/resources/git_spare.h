// A spare checkout of a git resource's branch: a clone of the mirror made off a get's critical
// path (by the check after a get) and renamed into the next get's directory, then moved to that
// get's commit. A push's new commit is checked out by a fetch from the mirror into the spare and
// a checkout that writes only what changed, instead of a clone that creates every file of `.git`
// (on a filesystem where each new inode costs, docs/benchmarks.md "W5's webhook").
//
// A spare is private to the worker: it lives beside the mirror, is never given to a task before
// it is renamed into a get's directory, and once renamed it is gone (the next check makes
// another). A get through a spare leaves what a fresh clone and checkout would leave (working
// tree, refs, config, HEAD, index, objects); the reflogs differ in their entries.
// Private to workers/.
//
// Thread-safety: TakeSpare and MoveCheckout REQUIRE the MirrorLock of the mirror; KeepSpare
// takes a lock of its own for the spare and reads the mirror without its lock (a clone that
// sees a fetch half-way fails and leaves no spare, or leaves one that TakeSpare brings to the
// mirror's state as it moves it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "baton/common/status.h"
#include "baton/workers/git_repository.h"

namespace baton::workers::resources {

// The spare of `branch` ("" = detached, for tags) made with get params `variant` ("" = the
// defaults) for `mirror_path`.
std::string SparePath(const std::string& mirror_path, const std::string& branch,
                      const std::string& variant);

// Records that gets of this mirror would use spares: a check makes spares only after a get has
// asked, so that resources that are only checked pay nothing.
void WantSpares(const std::string& mirror_path);
bool SparesWanted(const std::string& mirror_path);

// A get of the mirror at `mirror_path` under way in this process, from construction to
// destruction. A check makes a spare only once the gets that had begun have ended
// (WaitForGetsInFlight): a get whose push raced its check to the mirror's lock takes the spare
// the check found, and the next push needs another. Thread-safe.
class GetInFlight {
 public:
  explicit GetInFlight(const std::string& mirror_path);
  ~GetInFlight();
  GetInFlight(const GetInFlight&) = delete;
  GetInFlight& operator=(const GetInFlight&) = delete;

 private:
  std::string mirror_path_;
  uint64_t ticket_;
};

// How long after the mirror's last get ended a check begins its spare: the task that follows the
// get starts first (its shell is executed ~1.1-1.7 ms after the get's end here), without a
// spare's clone (~4 ms of CPU and file creation) beside it, which cost a signed webhook's build
// ~0.6 ms (docs/benchmarks.md, "twenty-second stop").
inline constexpr std::chrono::milliseconds kSpareAfterLastGet{3};

// Waits until every GetInFlight of `mirror_path` constructed before this call is destroyed
// (gets begun later are not waited for) and the last get of it ended kSpareAfterLastGet ago.
// REQUIRES: the caller holds no MirrorLock.
void WaitForGetsInFlight(const std::string& mirror_path);
// How many gets of `mirror_path` are under way (for tests).
size_t GetsInFlight(const std::string& mirror_path);

// Makes the spare at `spare` with `checkout(dir)` into a temporary directory renamed into place,
// unless a spare is there already (a stale one is moved forward when taken). A failed checkout
// leaves no spare. Holds a lock of the spare's own (MirrorLock on its path) meanwhile.
Status KeepSpare(const std::string& spare,
                 const std::function<Status(const std::string&)>& checkout);

// Renames the spare at `spare` into the empty directory `dir` (waiting for a KeepSpare that is
// making it) and moves it to commit `sha` of the mirror at `mirror_path` (MoveCheckout). False
// when there is no spare, `dir` is not empty or on another filesystem, or the move failed: `dir`
// is left empty and the spare gone, for a fresh checkout to follow. Lock order: the mirror's,
// then the spare's; KeepSpare never takes the mirror's.
bool TakeSpare(const std::string& spare, const std::string& mirror_path, const std::string& sha,
               const GitCheckoutOptions& options, const std::string& dir);

// Moves the checkout at `dir` (a clone of the mirror at `mirror_path`, made by CheckoutInto with
// the same `options`) to commit `sha`, as CheckoutInto would have left it: the mirror's object
// files hard-linked, its branches fetched as origin's, tags as the clone's, the tree checked out
// (only changed files written), then HEAD and the branch. Implemented on libgit2.
Status MoveCheckout(const std::string& mirror_path, const std::string& dir, const std::string& sha,
                    const GitCheckoutOptions& options);

}  // namespace baton::workers::resources
