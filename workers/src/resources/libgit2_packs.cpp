// CompactPacks (libgit2_repository.h): a mirror's small packs merged into one, so that its pack
// count stays logarithmic in its size instead of growing by one with every fetch.
#include <git2/odb_backend.h>
#include <git2/pack.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "resources/libgit2_repository.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

using OdbPtr = GitPtr<git_odb, git_odb_free>;
using PackBuilderPtr = GitPtr<git_packbuilder, git_packbuilder_free>;

struct PackFile {
  fs::path pack;  // objects/pack/pack-<name>.pack
  uintmax_t size = 0;
  fs::path Index() const { return fs::path(pack).replace_extension(".idx"); }
};

// The packs beside their index; a pack kept on purpose (a `.keep` file) is never merged.
std::vector<PackFile> ListPacks(const fs::path& dir) {
  std::vector<PackFile> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".pack") continue;
    PackFile p{e.path(), e.file_size(ec)};
    if (ec || !fs::exists(p.Index(), ec)) continue;
    if (fs::exists(fs::path(p.pack).replace_extension(".keep"), ec)) continue;
    out.push_back(p);
  }
  std::sort(out.begin(), out.end(),
            [](const PackFile& a, const PackFile& b) { return a.size < b.size; });
  return out;
}

// How many of the smallest packs to merge so that every pack left is at least twice the size
// of all smaller ones together (git's `repack --geometric=2`), and at most `limit` remain.
size_t PacksToMerge(const std::vector<PackFile>& packs, size_t limit) {
  size_t merge = 0;
  uintmax_t below = 0;
  for (size_t i = 0; i < packs.size(); ++i) {
    if (i > 0 && packs[i].size < 2 * below) merge = i + 1;
    below += packs[i].size;
  }
  if (packs.size() - (merge > 0 ? merge - 1 : 0) > limit) merge = packs.size() - limit + 1;
  return merge < 2 ? 0 : merge;
}

int InsertObject(const git_oid* oid, void* payload) {
  return git_packbuilder_insert(static_cast<git_packbuilder*>(payload), oid, nullptr);
}

}  // namespace

Status CompactPacks(git_repository* repo, size_t limit) {
  const fs::path dir = fs::path(git_repository_path(repo)) / "objects" / "pack";
  std::vector<PackFile> packs = ListPacks(dir);
  if (packs.size() <= limit) return Status::Ok();
  const size_t merge = PacksToMerge(packs, limit);
  if (merge == 0) return Status::Ok();
  // The merged packs' objects, read from their indexes alone.
  git_odb* raw = nullptr;
  if (git_odb_new(&raw) != 0) return GitError(-1, "merge packs: object database");
  OdbPtr merged(raw);
  for (size_t i = 0; i < merge; ++i) {
    git_odb_backend* one = nullptr;
    int rc = git_odb_backend_one_pack(&one, packs[i].Index().c_str());
    if (rc == 0) rc = git_odb_add_backend(merged.get(), one, 1);
    if (rc != 0) return GitError(rc, "merge packs: read " + packs[i].Index().string());
  }
  git_packbuilder* pb_raw = nullptr;
  if (int rc = git_packbuilder_new(&pb_raw, repo); rc != 0) return GitError(rc, "merge packs");
  PackBuilderPtr pb(pb_raw);
  git_packbuilder_set_threads(pb.get(), 1);
  int rc = git_odb_foreach(merged.get(), InsertObject, pb.get());
  if (rc == 0) rc = git_packbuilder_write(pb.get(), nullptr, 0, nullptr, nullptr);
  if (rc != 0) return GitError(rc, "merge packs in " + dir.string());
  merged.reset();
  // The new pack is whole (index written last) before any merged one goes; a reader that listed
  // the old ones keeps what it opened. The index first: a pack without one is not listed.
  const std::string kept = std::string("pack-") + git_packbuilder_name(pb.get()) + ".pack";
  std::error_code ec;
  for (size_t i = 0; i < merge; ++i) {
    if (packs[i].pack.filename() == kept) continue;
    fs::remove(packs[i].Index(), ec);
    fs::remove(packs[i].pack, ec);
  }
  git_odb* odb = nullptr;
  if (git_repository_odb(&odb, repo) == 0) {
    git_odb_refresh(odb);
    git_odb_free(odb);
  }
  return Status::Ok();
}

}  // namespace baton::workers::resources
