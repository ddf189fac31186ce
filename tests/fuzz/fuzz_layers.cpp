// libFuzzer target: arbitrary bytes as an image's layers (tar, plain or gzip/zstd-compressed),
// unpacked one over the other into a fresh root, as a worker does with what a registry sends.
// Layers in the input are separated by kSeparator. Beside the memory errors the sanitizers
// catch, the target checks the unpacker's one promise: nothing is written outside the root
// (the root's parent keeps exactly the root and a sentinel file, untouched).
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "resources/registry_image/layer_unpack.h"

namespace {

constexpr std::string_view kSeparator = "\n--baton-next-layer--\n";
constexpr std::string_view kSentinel = "outside the root";

std::vector<std::string_view> SplitLayers(std::string_view input) {
  std::vector<std::string_view> layers;
  while (layers.size() < 4) {
    size_t at = input.find(kSeparator);
    layers.push_back(input.substr(0, at));
    if (at == std::string_view::npos) break;
    input.remove_prefix(at + kSeparator.size());
  }
  return layers;
}

std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.insert(e.path().filename().string());
  }
  return names;
}

// The compression a registry's media type would name for these bytes (by their magic number), so
// that each decompressor the worker enables gets fuzzed.
baton::workers::resources::LayerCompression CompressionOf(std::string_view layer) {
  using baton::workers::resources::LayerCompression;
  if (layer.substr(0, 2) == "\x1f\x8b") return LayerCompression::kGzip;
  if (layer.substr(0, 4) == "\x28\xb5\x2f\xfd") return LayerCompression::kZstd;
  return LayerCompression::kNone;
}

[[noreturn]] void Escaped(const std::string& what) {
  std::fprintf(stderr, "fuzz_layers: a layer wrote outside the root: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // /dev/shm keeps the many small files of a fuzzing run off the disk.
  char tmpl[] = "/dev/shm/baton-fuzz-layers-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  const std::string base = tmpl;
  const std::string root = base + "/root";
  const std::string sentinel = base + "/sentinel";
  ::mkdir(root.c_str(), 0755);
  std::ofstream(sentinel) << kSentinel;

  baton::workers::resources::RootfsUnpacker unpacker(root);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  int n = 0;
  for (std::string_view layer : SplitLayers(input)) {
    if (!unpacker.Apply(layer, CompressionOf(layer), "layer " + std::to_string(++n)).ok()) break;
  }

  if (Entries(base) != std::set<std::string>{"root", "sentinel"}) Escaped("a new entry beside it");
  struct stat st {};
  if (::lstat(sentinel.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) Escaped("the sentinel changed");
  std::ifstream in(sentinel);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (content != kSentinel) Escaped("the sentinel's content changed");

  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  return 0;
}
