// WorkerKeys: the keys a web node accepts from `baton worker` (`--worker-key FILE`, repeatable).
// Each file holds one key per line (a worker's own key file is such a file of one line; an
// authorized-keys file lists several); blank lines and lines starting with '#' are skipped,
// and a line's first word is the key (the rest is a comment, e.g. the worker's name).
//
// Only SHA-256 digests are kept in memory; a presented key is compared in constant time.
// These keys open the worker endpoint only: the API's token validator never sees them, and
// API tokens are not worker keys.
//
// Thread-safety: immutable after Load; Accepts may run on many threads.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"

namespace baton::webapi {

// Keys shorter than this are refused at load: they could be guessed.
inline constexpr size_t kMinWorkerKeyLength = 32;

class WorkerKeys {
 public:
  // Reads every file. An error names the file (and line) and says how to make a good key.
  static Result<WorkerKeys> Load(const std::vector<std::filesystem::path>& files);

  // Whether `key` is one of the loaded keys.
  bool Accepts(std::string_view key) const;
  bool empty() const { return digests_.empty(); }
  size_t size() const { return digests_.size(); }

 private:
  std::vector<std::string> digests_;  // hex SHA-256 of each key
};

// The key in a worker's key file: its first non-comment line's first word. Errors name the
// file and say how to make one (`baton worker-key -o FILE`).
Result<std::string> ReadWorkerKeyFile(const std::filesystem::path& file);

}  // namespace baton::webapi
