// Resource caches: a version a get fetched, kept for the next get of the same version, as
// Concourse's workers keep them. A later build's `get` of a version already fetched (same type,
// source and params) runs nothing: its artifact is the cached fetch, and the build gets its own
// copy of it only if a step uses the artifact (a task's input or output, a put, an image), as
// Concourse gives each task a copy-on-write volume of the cache; a file a step loads (`load_var`,
// `task: file:`) is read from the cache itself. A get whose artifact no step uses (a `passed:`
// get that only carries its version along) writes nothing.
//
//   ResourceCaches caches(data_dir / "resource-caches");
//   if (auto hit = caches.Find(key)) { ... hit->files, hit->version, hit->metadata ... }
//   auto dir = caches.NewDir();                    // fetch into *dir / "files", then:
//   auto entry = caches.Add(key, *dir, version, metadata);
//
// Each entry is a directory of the root: `files/` (the fetch) and `entry.json` (a digest of its
// key, its version and metadata), written after the fetch; a new ResourceCaches finds the entries
// an earlier process left (a web node that restarts resumes builds that use them) and removes
// directories without an entry.json (fetches that never finished). The caches keep the latest
// `versions_per_config` versions of each type/source/params and `max_entries` in all; a
// version pushed out is removed once no build holds it. Thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "baton/common/json.h"
#include "baton/common/metadata_field.h"
#include "baton/common/status.h"
#include "baton/runner/directory_remover.h"

namespace baton::runner {

struct ResourceCacheKey {
  std::string config;   // type, source and params: one resource's fetches
  std::string version;  // the version, as JSON
};

// The key of a get of `version` of a resource of `type` with `source` and `params`.
ResourceCacheKey MakeResourceCacheKey(const std::string& type, const Json& source,
                                      const Json& params, const Json& version);

class ResourceCaches {
 public:
  struct Entry {
    std::filesystem::path dir;    // the entry's directory
    std::filesystem::path files;  // dir / "files": the fetched artifact (never written again)
    Json version;
    std::vector<MetadataField> metadata;
  };
  struct Limits {
    size_t versions_per_config = 2;
    size_t max_entries = 64;
  };

  explicit ResourceCaches(std::filesystem::path root);
  ResourceCaches(std::filesystem::path root, Limits limits);
  ~ResourceCaches();
  ResourceCaches(const ResourceCaches&) = delete;
  ResourceCaches& operator=(const ResourceCaches&) = delete;

  // The finished fetch of `key`, or null.
  std::shared_ptr<const Entry> Find(const ResourceCacheKey& key);
  // The entry whose directory is `dir` (a resumed build's, from its journal), or null.
  std::shared_ptr<const Entry> FindDir(const std::filesystem::path& dir);
  // A new entry's directory: fetch into its `files/`, then Add or Discard it.
  Result<std::filesystem::path> NewDir();
  // Records the fetch in `dir` (from NewDir) as `key`'s: found by Find from now on.
  Result<std::shared_ptr<const Entry>> Add(const ResourceCacheKey& key,
                                           const std::filesystem::path& dir, const Json& version,
                                           const std::vector<MetadataField>& metadata);
  // Removes `dir` (from NewDir) whose fetch did not finish.
  void Discard(const std::filesystem::path& dir);
  // Copies the entry's files into `to` (an empty or missing directory): owners, modes (without
  // set-ID bits), times and symbolic links as they are; anything but a file, a directory or a
  // link is an error.
  static Status CopyFiles(const Entry& entry, const std::filesystem::path& to);

  size_t size();  // entries kept

 private:
  struct Slot;
  void LoadExisting();
  std::shared_ptr<const Entry> Keep(const std::string& key, std::string config, Entry entry);
  void EvictLocked();
  void EvictLocked(std::list<std::shared_ptr<Slot>>::iterator it);

  const std::filesystem::path root_;
  const Limits limits_;
  // Shared with the entries: one pushed out is removed when the last build lets go of it.
  std::shared_ptr<DirectoryRemover> remover_ = std::make_shared<DirectoryRemover>();
  std::mutex mu_;
  bool root_made_ = false;                // GUARDED_BY(mu_) by the first NewDir, mode 0700
  uint64_t next_dir_ = 0;                 // GUARDED_BY(mu_)
  std::list<std::shared_ptr<Slot>> lru_;  // GUARDED_BY(mu_) most recently used first
  std::map<std::string, std::list<std::shared_ptr<Slot>>::iterator> by_key_;  // GUARDED_BY(mu_)
};

}  // namespace baton::runner
