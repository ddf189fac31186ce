#include "baton/webapi/worker_keys.h"

#include <fstream>
#include <sstream>

#include "baton/common/sha256.h"
#include "baton/webapi/auth.h"

namespace baton::webapi {

namespace {

// Each key line of `file` as (line number, key).
Result<std::vector<std::pair<int, std::string>>> KeyLines(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    return NotFound("cannot read worker key file " + file.string() +
                    "; make a key with `baton worker-key -o FILE` and pass that file");
  }
  std::vector<std::pair<int, std::string>> keys;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream words(line);
    std::string key;
    if (!(words >> key) || key[0] == '#') continue;
    if (key.size() < kMinWorkerKeyLength) {
      return InvalidArgument(file.string() + ":" + std::to_string(number) + ": a worker key of " +
                             std::to_string(key.size()) + " characters is too short (at least " +
                             std::to_string(kMinWorkerKeyLength) +
                             "); make one with `baton worker-key -o FILE`");
    }
    keys.emplace_back(number, key);
  }
  return keys;
}

}  // namespace

Result<WorkerKeys> WorkerKeys::Load(const std::vector<std::filesystem::path>& files) {
  WorkerKeys keys;
  for (const auto& file : files) {
    BATON_ASSIGN_OR_RETURN(auto lines, KeyLines(file));
    if (lines.empty()) {
      return InvalidArgument("worker key file " + file.string() +
                             " holds no key; make one with `baton worker-key -o FILE`");
    }
    for (const auto& [number, key] : lines) keys.digests_.push_back(Sha256Hex(key));
  }
  return keys;
}

bool WorkerKeys::Accepts(std::string_view key) const {
  bool found = false;
  // Every digest is compared, so the time taken says nothing about which one matched.
  for (const auto& digest : digests_) found |= TokenMatchesHash(key, digest);
  return found;
}

Result<std::string> ReadWorkerKeyFile(const std::filesystem::path& file) {
  BATON_ASSIGN_OR_RETURN(auto lines, KeyLines(file));
  if (lines.empty()) {
    return InvalidArgument("worker key file " + file.string() +
                           " holds no key; make one with `baton worker-key -o FILE`");
  }
  return lines.front().second;
}

}  // namespace baton::webapi
