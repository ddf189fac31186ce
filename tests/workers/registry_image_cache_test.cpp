// The worker's image cache collected by age and size (LocalWorkerOptions::image_cache_max_*),
// against Debian's docker-registry on 127.0.0.1: images fetched for tasks through a real
// LocalWorker, entries aged by setting their last-use time back (no sleeps), and an image a
// running task uses kept whatever the limits say.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <future>

#include "baton/workers/http_transport.h"
#include "baton/workers/local_worker.h"
#include "fakes/test_env.h"
#include "registry-server/registry_fixture.h"
#include "workers/task_test_util.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::ImageLayout;
using baton::testing::RegistryServer;
using baton::testing::TempDir;

class RegistryImageCache : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<RegistryServer>(dir_ / "registry");
    for (std::string name : {"a", "b"}) {
      ImageLayout layout(dir_ / ("image-" + name));
      layout.NewBusyboxImage("t");
      layout.AddLayer("t", {{"etc/name", name}});
      layout.Push("t", *registry_, "team/" + name, "latest");
    }
  }

  void StartWorker(std::chrono::seconds max_age, uint64_t max_bytes) {
    LocalWorkerOptions options;
    options.data_dir = (dir_ / "worker").string();
    options.http_transport = MakeHttpTransportFactory();
    options.image_cache_max_age = max_age;
    options.image_cache_max_bytes = max_bytes;
    worker_ = std::make_unique<LocalWorker>(options);
    ASSERT_EQ(worker_->refusal_reason(), "");
  }

  Json Source(const std::string& name) {
    return {{"repository", registry_->host() + "/team/" + name}, {"insecure", true}};
  }

  ResourceResult Resource(ResourceRun run) {
    auto sink = std::make_shared<baton::testing::RecordingSink>();
    auto promise = std::make_shared<std::promise<ResourceResult>>();
    auto future = promise->get_future();
    auto handle = worker_->RunResource(
        run, sink, [promise](ResourceResult r) { promise->set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(std::chrono::minutes(2)), std::future_status::ready);
    return future.get();
  }

  // Fetches image `name` as a task's image (as image_resource does); returns its rootfs path.
  std::string FetchImage(const std::string& name) {
    ResourceRun check;
    check.id = "check-" + name;
    check.type = "registry-image";
    check.source = Source(name);
    ResourceResult checked = Resource(check);
    EXPECT_TRUE(checked.error.ok()) << checked.error.ToString();
    if (checked.versions.empty()) return "";
    fs::path out = dir_ / ("get-" + name + "-" + std::to_string(++gets_));
    fs::create_directories(out);
    ResourceRun get = check;
    get.id = "get-" + name;
    get.action = ResourceRun::Action::kGet;
    get.version = checked.versions.back();
    get.dir = out.string();
    get.for_image = true;
    ResourceResult got = Resource(get);
    EXPECT_TRUE(got.error.ok()) << got.error.ToString();
    // The get leaves the digest (the task names the image by it), no link to the cache.
    EXPECT_FALSE(fs::exists(fs::symlink_status(out / "rootfs")));
    std::string digest = got.version.value("digest", "");
    EXPECT_EQ(baton::testing::ReadFile(out / "digest"), digest);
    fs::path root = dir_ / "worker" / "images" / (digest.substr(7) + "-linux-amd64") / "rootfs";
    EXPECT_TRUE(fs::is_directory(root)) << root;
    return root.string();
  }

  // The cache entries (digest-platform directories) there are now.
  std::vector<std::string> Entries() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ / "worker" / "images"))
      if (e.path().filename().string()[0] != '.') out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::string EntryOf(const std::string& rootfs) {
    return fs::path(rootfs).parent_path().filename().string();
  }

  // Pretends the entry holding `rootfs` was last used `ago` ago.
  static void LastUsed(const std::string& rootfs, std::chrono::hours ago) {
    fs::last_write_time(fs::path(rootfs).parent_path(), fs::file_time_type::clock::now() - ago);
  }

  TempDir dir_;
  std::unique_ptr<RegistryServer> registry_;
  std::unique_ptr<LocalWorker> worker_;
  int gets_ = 0;
};

TEST_F(RegistryImageCache, OverTheSizeLimitTheLeastRecentlyUsedImageGoesFirst) {
  StartWorker(std::chrono::hours(24 * 365), 1);  // any two images are too much
  std::string a = FetchImage("a");
  ASSERT_EQ(Entries(), std::vector<std::string>{EntryOf(a)});
  LastUsed(a, std::chrono::hours(2));
  std::string b = FetchImage("b");
  // a went; b stays although alone it is over the limit: it was used just now.
  EXPECT_EQ(Entries(), std::vector<std::string>{EntryOf(b)});
  EXPECT_TRUE(fs::exists(fs::path(b) / "etc/name"));
  std::string again = FetchImage("a");  // pulled again, not an error
  EXPECT_EQ(baton::testing::ReadFile(fs::path(again) / "etc/name"), "a");
}

TEST_F(RegistryImageCache, ImagesUnusedForLongerThanTheMaxAgeAreRemoved) {
  StartWorker(std::chrono::hours(1), 0);
  std::string a = FetchImage("a");
  std::string b = FetchImage("b");
  LastUsed(a, std::chrono::hours(2));
  FetchImage("b");  // any step using the cache collects it
  std::vector<std::string> want{EntryOf(b)};
  EXPECT_EQ(Entries(), want);

  // A worker starting on an old cache collects it at once.
  LastUsed(b, std::chrono::hours(3));
  worker_.reset();
  StartWorker(std::chrono::hours(1), 0);
  EXPECT_EQ(Entries(), std::vector<std::string>{});
}

TEST_F(RegistryImageCache, AnImageARunningTaskUsesIsKeptWhateverTheLimits) {
  StartWorker(std::chrono::hours(1), 1);
  std::string a = FetchImage("a");
  fs::path work = dir_ / "work";
  fs::create_directories(work);
  TaskRun run = baton::testing::ShellTask(
      "on-a", "echo started; while [ ! -e go ]; do sleep 0.05; done; cat /etc/name", work.string());
  run.dir = ".";
  run.rootfs = {RootfsSpec::Kind::kDirectory, a};
  auto sink = std::make_shared<baton::testing::RecordingSink>();
  auto promise = std::make_shared<std::promise<TaskResult>>();
  auto future = promise->get_future();
  auto handle =
      worker_->RunTask(run, sink, [promise](TaskResult r) { promise->set_value(std::move(r)); });
  ASSERT_TRUE(sink->WaitFor("started", std::chrono::seconds(60))) << sink->Text();
  LastUsed(a, std::chrono::hours(5));  // old and over the size limit, but in use
  std::string b = FetchImage("b");
  std::vector<std::string> both{EntryOf(a), EntryOf(b)};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(Entries(), both);
  std::ofstream(work / "go") << "";
  ASSERT_EQ(future.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  TaskResult result = future.get();
  ASSERT_TRUE(result.error.ok()) << result.error.ToString();
  EXPECT_EQ(result.exit_code, 0) << sink->Text(OutputStream::kStderr);
  EXPECT_NE(sink->Text().find("a"), std::string::npos);
  // Its use ended just now: it counts as recently used, so it still stays for a while.
  EXPECT_EQ(Entries(), both);
}

}  // namespace
}  // namespace baton::workers
