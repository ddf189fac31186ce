#include "fakes/test_env.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace baton::testing {

std::filesystem::path SharedDir() {
  const char* env = std::getenv("BATON_SHARED_DIR");
  std::filesystem::path dir = env && *env ? std::filesystem::path(env) : BATON_SHARED_DIR;
  static const bool warned = [&] {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir / "conformance", ec)) {
      std::fprintf(stderr,
                   "baton tests: no shared conformance data at %s/conformance; the tests that "
                   "read it will fail. Clone next to ../shared or set BATON_SHARED_DIR.\n",
                   dir.c_str());
    }
    return true;
  }();
  (void)warned;
  return dir;
}

std::filesystem::path SourceDir() { return BATON_SOURCE_DIR; }
std::filesystem::path BatonBinary() {
  const char* other = std::getenv("BATON_TEST_BINARY");  // a bench comparing two builds
  return other != nullptr && *other != '\0' ? std::filesystem::path(other) : BATON_BINARY;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "baton-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace baton::testing
