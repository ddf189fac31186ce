// bench_volumes: PackVolume + UnpackVolume throughput against `tar | zstd` over a pipe on
// the same directory (issue 13's aim: at least 70 % of the pipe). Prints medians; not a test.
//
//   build/bin/bench_volumes [DIR] [--runs N]   # default DIR: a generated 64 MiB volume
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baton/workers/volume_stream.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// 64 MiB: source-like text files (compressible) and some random binaries, in nested dirs.
void MakeVolume(const fs::path& dir) {
  std::mt19937 rng(7);
  const std::string words = "int main return const std::string auto for if else while ";
  for (int d = 0; d < 16; ++d) {
    fs::create_directories(dir / ("d" + std::to_string(d)));
    for (int f = 0; f < 64; ++f) {
      std::string text;
      while (text.size() < 48 * 1024) text += words.substr(rng() % 40, 12) + "\n";
      std::ofstream(dir / ("d" + std::to_string(d)) / ("f" + std::to_string(f) + ".cpp")) << text;
    }
    std::string bin(1024 * 1024, '\0');
    for (char& c : bin) c = static_cast<char>(rng());
    std::ofstream(dir / ("d" + std::to_string(d)) / "blob.bin") << bin;
  }
}

uint64_t TreeBytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir;
  int runs = 5;
  CLI::App app{"PackVolume + UnpackVolume throughput against `tar | zstd` over a pipe",
               "bench_volumes"};
  app.add_option("DIR", dir, "the directory to pack (default: a generated 64 MiB volume)");
  app.add_option("--runs", runs, "runs of each")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  fs::path tmp = fs::temp_directory_path() / ("bench-volume-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  if (dir.empty()) {
    dir = tmp / "src";
    MakeVolume(dir);
  }
  const double mib = static_cast<double>(TreeBytes(dir)) / (1024 * 1024);
  std::vector<double> pack, unpack, pipe;
  size_t stream_size = 0;
  for (int r = 0; r < runs; ++r) {
    std::string stream;
    auto t0 = Clock::now();
    baton::Status s = baton::workers::PackVolume(dir, [&](std::string_view chunk) {
      stream.append(chunk);
      return baton::Status::Ok();
    });
    pack.push_back(Seconds(t0));
    if (!s.ok()) {
      std::fprintf(stderr, "pack: %s\n", s.ToString().c_str());
      return 1;
    }
    stream_size = stream.size();
    fs::remove_all(tmp / "out");
    t0 = Clock::now();
    s = baton::workers::UnpackVolume(stream, tmp / "out");
    unpack.push_back(Seconds(t0));
    if (!s.ok()) {
      std::fprintf(stderr, "unpack: %s\n", s.ToString().c_str());
      return 1;
    }
    std::string cmd = "tar -cf - -C '" + dir.string() + "' . | zstd -q -3 -c > /dev/null";
    t0 = Clock::now();
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "tar | zstd failed (apt-get install zstd)\n");
      return 1;
    }
    pipe.push_back(Seconds(t0));
  }
  fs::remove_all(tmp);
  std::printf("volume: %.1f MiB -> %.1f MiB zstd stream, %d runs (medians)\n", mib,
              static_cast<double>(stream_size) / (1024 * 1024), runs);
  std::printf("PackVolume            %7.1f ms  %7.1f MiB/s\n", Median(pack) * 1e3,
              mib / Median(pack));
  std::printf("UnpackVolume          %7.1f ms  %7.1f MiB/s\n", Median(unpack) * 1e3,
              mib / Median(unpack));
  std::printf("tar | zstd -3 (pipe)  %7.1f ms  %7.1f MiB/s\n", Median(pipe) * 1e3,
              mib / Median(pipe));
  std::printf("PackVolume / pipe     %7.0f %%   (aim: at least 70 %%)\n",
              100.0 * Median(pipe) / Median(pack));
  return 0;
}
