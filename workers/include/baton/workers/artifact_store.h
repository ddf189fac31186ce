// ArtifactStore: a content-addressed store of directory snapshots on the local disk, behind the
// built-in `artifact` resource type (artifacts that pass between jobs).
//
// Layout under the root directory:
//   objects/ab/cdef…        each distinct file content once, named by its sha256
//   manifests/<digest>.json  one snapshot: every path with its type, mode, size, sha256 or link
//                            target; <digest> is the sha256 of this canonical JSON
//   versions/<key>.jsonl     the versions of one resource, oldest first (append + fsync)
//
// Thread-safety: all methods may be called concurrently from any thread of one process; Put,
// Restore and List run in parallel, Prune runs alone. One process owns a root at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "baton/common/status.h"

namespace baton::workers {

struct ArtifactVersion {
  std::string digest;  // hex sha256 of the snapshot's manifest
  int64_t file_count = 0;
  int64_t bytes = 0;  // total size of regular files
};

// One path of a snapshot, as its manifest lists it.
struct ArtifactEntry {
  std::string path;    // relative, '/'-separated
  std::string type;    // "file", "dir" or "symlink"
  int mode = 0;        // permission bits (0 for symlinks)
  int64_t size = 0;    // files only
  std::string sha256;  // files only
  std::string target;  // symlinks only
};

struct PruneStats {
  int64_t versions_removed = 0;
  int64_t manifests_removed = 0;
  int64_t objects_removed = 0;
  int64_t bytes_freed = 0;
};

class ArtifactStore {
 public:
  virtual ~ArtifactStore() = default;

  // Snapshots the directory `dir` (regular files, directories, symlinks; not followed) and
  // appends the version to `resource_key`'s list unless it is already there.
  virtual Result<ArtifactVersion> Put(const std::string& resource_key, const std::string& dir) = 0;
  // Recreates the snapshot `digest` inside the existing directory `dir` (files copied, modes
  // restored). NotFound when the digest is unknown or was pruned.
  virtual Status Restore(const std::string& digest, const std::string& dir) = 0;
  // The versions of `resource_key`, oldest first (empty when none).
  virtual Result<std::vector<ArtifactVersion>> List(const std::string& resource_key) = 0;
  // The paths of the snapshot `digest`, sorted. NotFound when unknown or pruned.
  virtual Result<std::vector<ArtifactEntry>> Entries(const std::string& digest) = 0;
  // The bytes of the regular file `path` of the snapshot `digest`. NotFound when the snapshot
  // or the path is unknown, or the path is not a regular file.
  virtual Result<std::string> ReadFile(const std::string& digest, const std::string& path) = 0;
  // Up to `length` bytes of that file from `offset` (fewer at its end, none past it), and the
  // file's whole size: how a large file is served in parts without holding it in memory.
  struct FilePart {
    std::string bytes;
    uint64_t size = 0;
  };
  virtual Result<FilePart> ReadFilePart(const std::string& digest, const std::string& path,
                                        uint64_t offset, uint64_t length) = 0;
  // Keeps the newest `keep_last` versions of `resource_key`, then deletes manifests and objects
  // that no version of any resource references any more.
  virtual Result<PruneStats> Prune(const std::string& resource_key, size_t keep_last) = 0;
};

// The store on the local disk under `root` (created if missing).
Result<std::unique_ptr<ArtifactStore>> OpenLocalArtifactStore(const std::string& root);

}  // namespace baton::workers
