// Registry images (issue 14), two numbers:
//  1. Pull + unpack of a ~100 MB image (busybox-static plus Debian's Python 3.11 library, built
//     here with umoci, pushed with skopeo to Debian's docker-registry on 127.0.0.1): Baton's
//     registry-image get (rootfs) beside `skopeo copy` to an OCI layout + `umoci unpack` of the
//     same image, alternately, `rounds` times each; seconds and MB/s of unpacked bytes.
//  2. A task's start+exit (busybox true) on that image, served from the worker's image cache as
//     a task's image_resource is (RootfsSpec::kImage), beside /bin/true on the host root, runs
//     interleaved; p50/p90 and the difference of the medians.
// Needs root, umoci, skopeo and docker-registry (.ci/install-deps.sh). Not a test: it prints.
// Usage: bench_image_pull [rounds=3] [task_runs=100]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baton/workers/http_transport.h"
#include "baton/workers/local_worker.h"
#include "baton/workers/resource_type.h"
#include "registry-server/registry_fixture.h"
#include "sandbox_timing.h"

namespace {

namespace fs = std::filesystem;
using namespace baton::workers;
using baton::bench::Median;
using baton::bench::Percentile;
using baton::testing::ImageLayout;
using baton::testing::RegistryServer;
using baton::testing::RunCommand;

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

double Seconds(const std::function<void()>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

uint64_t TreeBytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && !e.is_symlink()) total += e.file_size();
  }
  return total;
}

class NullSink : public OutputSink {
 public:
  void OnLine(baton::SystemTime, OutputStream, std::string_view) override {}
};

void Die(const std::string& what) {
  std::fprintf(stderr, "bench_image_pull: %s\n", what.c_str());
  std::exit(1);
}

// busybox-static and /bin/sh (the fixture's base layer), then one layer of Debian files.
void BuildImage(const fs::path& base, const RegistryServer& registry) {
  ImageLayout layout(base / "image");
  layout.NewBusyboxImage("big");
  fs::path tar = base / "debian-files.tar";
  RunCommand({"tar", "-C", "/", "-cf", tar.string(), "usr/lib/python3.11", "usr/lib/python3"},
             base);
  RunCommand(
      {"umoci", "raw", "add-layer", "--image", layout.path().string() + ":big", tar.string()},
      base);
  fs::remove(tar);
  layout.Push("big", registry, "bench/big", "latest");
}

void PrintRow(const char* name, const std::vector<double>& s, uint64_t bytes) {
  double median = Median(s);
  std::printf("%-40s median %6.2f s  (min %6.2f, max %6.2f)  %7.1f MB/s\n", name, median,
              Percentile(s, 0), Percentile(s, 1), bytes / 1e6 / median);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Registry images: pull + unpack beside skopeo + umoci; a task on the image",
               "bench_image_pull"};
  int rounds = 3, task_runs = 100;
  app.add_option("ROUNDS", rounds, "pulls of each")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("TASK_RUNS", task_runs, "task starts on each root")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (::geteuid() != 0) Die("run as root (the sandbox and umoci unpack need it)");
  fs::path base = "/var/tmp/baton-bench-image-" + std::to_string(::getpid());
  fs::create_directories(base);
  std::printf("load average at start: %s\n", LoadAverage().c_str());
  try {
    RegistryServer registry(base / "registry");
    BuildImage(base, registry);
    std::string image = registry.host() + "/bench/big";
    baton::Json source = {{"repository", image}, {"insecure", true}};

    HttpTransportFactory transports = MakeHttpTransportFactory();
    NullSink sink;
    ResourceContext ctx;
    ctx.output = &sink;
    ctx.http_transport = &transports;
    auto type = MakeBuiltinResourceType("registry-image");
    auto versions = type->Check(ctx, source, nullptr);
    if (!versions.ok() || versions->empty()) Die("check: " + versions.status().ToString());
    baton::Json version = versions->back();

    std::vector<double> baton_s, skopeo_s;
    uint64_t bytes = 0;
    for (int r = 0; r < rounds; ++r) {
      fs::path out = base / ("baton-" + std::to_string(r));
      fs::create_directories(out);
      baton_s.push_back(Seconds([&] {
        auto got = type->Get(ctx, source, version, baton::Json::object(), out.string());
        if (!got.ok()) Die("get: " + got.status().ToString());
      }));
      bytes = TreeBytes(out / "rootfs");
      fs::remove_all(out);

      fs::path layout = base / ("skopeo-" + std::to_string(r));
      skopeo_s.push_back(Seconds([&] {
        RunCommand({"skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://" + image,
                    "oci:" + layout.string() + ":big"},
                   base);
        RunCommand(
            {"umoci", "unpack", "--image", layout.string() + ":big", (layout.string() + "-bundle")},
            base);
      }));
      fs::remove_all(layout);
      fs::remove_all(layout.string() + "-bundle");
    }
    std::printf("image: %s, %.1f MB unpacked (files)\n", image.c_str(), bytes / 1e6);
    PrintRow("Baton registry-image get (rootfs)", baton_s, bytes);
    PrintRow("skopeo copy + umoci unpack", skopeo_s, bytes);

    LocalWorkerOptions options;
    options.data_dir = (base / "worker").string();
    options.http_transport = transports;
    LocalWorker worker(options);
    if (!worker.refusal_reason().empty()) Die(worker.refusal_reason());
    fs::create_directories(base / "work");
    TaskRun host = baton::bench::TrueTask((base / "work").string());
    TaskRun on_image = host;
    on_image.path = "/bin/busybox";
    on_image.args = {"true"};
    on_image.rootfs.kind = RootfsSpec::Kind::kImage;
    on_image.rootfs.image_source = source;
    on_image.rootfs.image_digest = version.value("digest", "");
    // The first use pulls the image into the worker's cache; every timed run finds it there.
    if (!baton::bench::WorkerTrue(worker, on_image)) Die("a task on the image failed");
    std::vector<double> host_ms, image_ms;
    for (int i = 0; i < task_runs; ++i) {
      for (auto* pair : {&host_ms, &image_ms}) {
        const TaskRun& run = pair == &host_ms ? host : on_image;
        auto t0 = std::chrono::steady_clock::now();
        if (!baton::bench::WorkerTrue(worker, run)) Die("a timed task failed");
        pair->push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
      }
    }
    std::printf("%-40s p50 %6.2f ms   p90 %6.2f ms   (n=%zu)\n", "task on the host root",
                Median(host_ms), Percentile(host_ms, 0.9), host_ms.size());
    std::printf("%-40s p50 %6.2f ms   p90 %6.2f ms   (n=%zu)\n", "task on the cached image",
                Median(image_ms), Percentile(image_ms, 0.9), image_ms.size());
    std::printf("%-40s %+.2f ms\n", "cached image - host root (p50)",
                Median(image_ms) - Median(host_ms));
  } catch (const std::exception& e) {
    Die(e.what());
  }
  std::printf("load average at end: %s\n", LoadAverage().c_str());
  std::error_code ec;
  fs::remove_all(base, ec);
  return 0;
}
