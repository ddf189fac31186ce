// Helpers every test may use: where the shared conformance data is, temp dirs that clean up.
#pragma once

#include <filesystem>
#include <string>

// In a test that measures memory (RSS growth, an address-space limit): under ASan its shadow
// memory and quarantine make those numbers meaningless, so the test skips and says so.
#ifdef BATON_SANITIZED
#define BATON_SKIP_IF_SANITIZED(why) GTEST_SKIP() << "skipped under sanitizers: " << (why)
#else
#define BATON_SKIP_IF_SANITIZED(why) static_cast<void>(0)
#endif

namespace baton::testing {

// ../shared next to the checkout (or $BATON_SHARED_DIR).
std::filesystem::path SharedDir();
// The repository root (for tests/data).
std::filesystem::path SourceDir();
// build/bin/baton, or $BATON_TEST_BINARY when set (bench_server --baton).
std::filesystem::path BatonBinary();

// A fresh directory under /tmp, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

// Writes `content` to `path`, creating parent directories.
void WriteFile(const std::filesystem::path& path, const std::string& content);
std::string ReadFile(const std::filesystem::path& path);

}  // namespace baton::testing
