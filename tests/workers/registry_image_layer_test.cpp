// A task on a cached registry image writes anywhere in its image (overlayfs: the cached rootfs
// under a layer of the task's own) while the cache, and every other task on the image, sees
// nothing of it; the layer goes with the task. Real sandbox, an image built with umoci and
// served by Debian's docker-registry on 127.0.0.1, pulled into a LocalWorker's image cache.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <future>

#include <gtest/gtest.h>

#include "baton/common/sha256.h"
#include "baton/workers/http_transport.h"
#include "baton/workers/local_worker.h"
#include "fakes/test_env.h"
#include "registry-server/registry_fixture.h"
#include "workers/task_test_util.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::ImageLayout;
using baton::testing::ReadFile;
using baton::testing::RecordingSink;
using baton::testing::RegistryServer;
using baton::testing::TempDir;

// Everything about every file under `dir`: names, types, modes, owners, sizes, change and modify
// times, contents and link targets, as one digest.
std::string TreeDigest(const fs::path& dir) {
  std::vector<std::string> rows;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) return "lstat failed: " + it->path().string();
    std::string row = fs::relative(it->path(), dir).string() + " " + std::to_string(st.st_mode) +
                      " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " +
                      std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                      std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_ctim.tv_sec) +
                      "." + std::to_string(st.st_ctim.tv_nsec);
    if (S_ISREG(st.st_mode)) row += " " + Sha256Hex(ReadFile(it->path()));
    if (S_ISLNK(st.st_mode)) row += " -> " + fs::read_symlink(it->path()).string();
    rows.push_back(row);
  }
  if (ec) return "walk failed: " + ec.message();
  std::sort(rows.begin(), rows.end());
  std::string all;
  for (const auto& r : rows) all += r + "\n";
  return std::to_string(rows.size()) + " files, " + Sha256Hex(all);
}

class RegistryImageLayer : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<RegistryServer>(dir_ / "registry");
    ImageLayout layout(dir_ / "image");
    layout.NewBusyboxImage("t");
    layout.AddLayer("t", {{"etc/motd", "from the image"}, {"usr/bin/", ""}, {"var/lib/", ""}});
    layout.Push("t", *registry_, "team/tools", "latest");
    worker_ = MakeWorker(true);
    ASSERT_EQ(worker_->refusal_reason(), "");
  }

  std::unique_ptr<LocalWorker> MakeWorker(bool writable_image_roots) {
    LocalWorkerOptions options;
    options.data_dir = (dir_ / (writable_image_roots ? "worker" : "ro-worker")).string();
    options.http_transport = MakeHttpTransportFactory();
    options.writable_image_roots = writable_image_roots;
    return std::make_unique<LocalWorker>(options);
  }

  TaskRun OnImage(const std::string& id, const std::string& script) {
    fs::path work = dir_ / ("work-" + id);
    fs::create_directories(work);
    TaskRun run = baton::testing::ShellTask(id, script, work.string());
    run.path = "sh";
    run.env["PATH"] = "/bin";
    run.rootfs.kind = RootfsSpec::Kind::kImage;
    run.rootfs.image_source = {{"repository", registry_->host() + "/team/tools"},
                               {"insecure", true}};
    run.rootfs.image_digest = digest_;
    return run;
  }

  // Pulls the image into `worker`'s cache with a task that writes nothing.
  void Pull(LocalWorker& worker) {
    ResourceRun check;
    check.id = "check";
    check.type = "registry-image";
    check.source = {{"repository", registry_->host() + "/team/tools"}, {"insecure", true}};
    auto promise = std::make_shared<std::promise<ResourceResult>>();
    auto future = promise->get_future();
    auto handle =
        worker.RunResource(check, std::make_shared<RecordingSink>(),
                           [promise](ResourceResult r) { promise->set_value(std::move(r)); });
    ResourceResult r = future.get();
    ASSERT_TRUE(r.error.ok()) << r.error.ToString();
    ASSERT_FALSE(r.versions.empty());
    digest_ = r.versions.back().value("digest", "");
    auto f = baton::testing::RunAndWait(worker, OnImage("pull", "true"));
    ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
    ASSERT_EQ(f.result.exit_code, 0) << f.sink->Text(OutputStream::kStderr);
  }

  // The rootfs/ of every entry of the image cache of the worker in `data_dir`.
  std::string CacheDigest(const std::string& worker_dir) {
    std::string out;
    for (const auto& entry : fs::directory_iterator(dir_ / worker_dir / "images")) {
      if (fs::is_directory(entry.path() / "rootfs")) {
        out += entry.path().filename().string() + ": " + TreeDigest(entry.path() / "rootfs") + "\n";
      }
    }
    return out;
  }

  size_t Layers() {
    fs::path layers = dir_ / "worker" / "sandbox" / "layers";
    if (!fs::exists(layers)) return 0;
    return std::distance(fs::directory_iterator(layers), fs::directory_iterator());
  }

  TempDir dir_;
  std::unique_ptr<RegistryServer> registry_;
  std::unique_ptr<LocalWorker> worker_;
  std::string digest_;
};

TEST_F(RegistryImageLayer, ATaskWritesAnywhereInItsImageAndTheNextTaskSeesNoneOfIt) {
  Pull(*worker_);
  std::string before = CacheDigest("worker");
  ASSERT_NE(before, "");
  auto writer = baton::testing::RunAndWait(
      *worker_,
      OnImage("writer",
              "set -e; echo x-in-etc > /etc/x; printf '#!/bin/sh\\necho y-runs\\n' > /usr/bin/y; "
              "busybox chmod +x /usr/bin/y; busybox mkdir -p /var/lib/apt; echo z > /var/z; "
              "echo changed > /etc/motd; busybox rm /etc/passwd; "
              "busybox cat /etc/x; /usr/bin/y; busybox cat /etc/motd; "
              "test -e /etc/passwd || echo passwd-gone"));
  ASSERT_TRUE(writer.result.error.ok()) << writer.result.error.ToString();
  EXPECT_EQ(writer.result.exit_code, 0) << writer.sink->Text(OutputStream::kStderr);
  EXPECT_EQ(writer.sink->Text(), "x-in-etc\ny-runs\nchanged\npasswd-gone\n");
  EXPECT_EQ(Layers(), 0u) << "the task's layer outlived it";

  auto reader = baton::testing::RunAndWait(
      *worker_, OnImage("reader",
                        "for f in /etc/x /usr/bin/y /var/z /var/lib/apt; do test -e $f && echo "
                        "$f; done; busybox cat /etc/motd; echo; test -e /etc/passwd && echo "
                        "passwd-here"));
  ASSERT_TRUE(reader.result.error.ok()) << reader.result.error.ToString();
  EXPECT_EQ(reader.sink->Text(), "from the image\npasswd-here\n");
  EXPECT_EQ(CacheDigest("worker"), before);
}

// Both tasks run at once, each writing the same paths, then each reads them back after the other
// has written (they meet through a shared volume).
TEST_F(RegistryImageLayer, TwoTasksAtOnceOnOneImageEachSeeOnlyTheirOwnWrites) {
  Pull(*worker_);
  std::string before = CacheDigest("worker");
  fs::path meet = dir_ / "meet";
  fs::create_directories(meet);
  auto task = [&](const std::string& me, const std::string& other) {
    TaskRun run =
        OnImage(me, "echo " + me + " > /etc/who; echo " + me + " > /usr/bin/" + me + "; : > meet/" +
                        me + "; i=0; while ! test -e meet/" + other +
                        "; do i=$((i+1)); test $i -lt 1200 || exit 3; busybox sleep 0.05; done; "
                        "busybox cat /etc/who; busybox ls /usr/bin");
    run.mounts.push_back({meet.string(), "meet", true});
    return run;
  };
  auto run_async = [&](const TaskRun& run) {
    return std::async(std::launch::async,
                      [&, run] { return baton::testing::RunAndWait(*worker_, run); });
  };
  auto a = run_async(task("alpha", "beta"));
  auto b = run_async(task("beta", "alpha"));
  baton::testing::Finished fa = a.get(), fb = b.get();
  ASSERT_TRUE(fa.result.error.ok()) << fa.result.error.ToString();
  ASSERT_TRUE(fb.result.error.ok()) << fb.result.error.ToString();
  EXPECT_EQ(fa.result.exit_code, 0) << fa.sink->Text(OutputStream::kStderr);
  EXPECT_EQ(fb.result.exit_code, 0) << fb.sink->Text(OutputStream::kStderr);
  EXPECT_EQ(fa.sink->Text(), "alpha\nalpha\n");
  EXPECT_EQ(fb.sink->Text(), "beta\nbeta\n");
  EXPECT_EQ(Layers(), 0u);
  EXPECT_EQ(CacheDigest("worker"), before);
}

// While the task runs its layer exists on the worker (and only then).
TEST_F(RegistryImageLayer, TheLayerLivesBesideTheTaskAndGoesWithIt) {
  Pull(*worker_);
  fs::path meet = dir_ / "meet";
  fs::create_directories(meet);
  TaskRun run = OnImage("holder",
                        "echo held > /etc/held; : > meet/started; i=0; while ! test -e meet/go; "
                        "do i=$((i+1)); test $i -lt 1200 || exit 3; busybox sleep 0.05; done");
  run.mounts.push_back({meet.string(), "meet", true});
  auto done =
      std::async(std::launch::async, [&] { return baton::testing::RunAndWait(*worker_, run); });
  ASSERT_TRUE(baton::testing::Eventually([&] { return fs::exists(meet / "started"); }));
  EXPECT_EQ(Layers(), 1u);
  fs::path layers = dir_ / "worker" / "sandbox" / "layers";
  fs::path layer = fs::directory_iterator(layers)->path();
  EXPECT_EQ(ReadFile(layer / "upper" / "etc" / "held"), "held\n");
  baton::testing::WriteFile(meet / "go", "");
  auto f = done.get();
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.result.exit_code, 0) << f.sink->Text(OutputStream::kStderr);
  EXPECT_FALSE(fs::exists(layer));
}

TEST_F(RegistryImageLayer, WithoutWritableLayersTheImageIsReadOnlyAndTheLogSaysSo) {
  auto worker = MakeWorker(false);
  ASSERT_EQ(worker->refusal_reason(), "");
  Pull(*worker);
  auto f =
      baton::testing::RunAndWait(*worker, OnImage("ro", "echo x > /etc/x 2>&1 || echo read-only"));
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_NE(f.sink->Text().find("read-only"), std::string::npos) << f.sink->Text();
  std::string system = f.sink->Text(OutputStream::kSystem);
  EXPECT_NE(system.find("this task's image is read-only"), std::string::npos) << system;
  EXPECT_NE(system.find("turned off"), std::string::npos) << system;
}

}  // namespace
}  // namespace baton::workers
