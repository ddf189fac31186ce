// A custom resource type whose image is in a registry (Debian's docker-registry on 127.0.0.1):
// the worker reuses the digest it found for the type's image within the type's check_every, as
// Concourse checks a type's image every check_every, and asks the registry again after it.
#include <gtest/gtest.h>

#include <future>

#include "baton/workers/http_transport.h"
#include "baton/workers/local_worker.h"
#include "fakes/fake_clock.h"
#include "fakes/test_env.h"
#include "registry-server/registry_fixture.h"
#include "workers/task_test_util.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::Count;
using baton::testing::ImageLayout;
using baton::testing::ReadFile;
using baton::testing::RecordingSink;
using baton::testing::RegistryServer;
using baton::testing::TempDir;

class RegistryTypeImage : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<RegistryServer>(dir_ / "registry");
    PushType("v1");
    LocalWorkerOptions options;
    options.data_dir = (dir_ / "worker").string();
    options.http_transport = MakeHttpTransportFactory();
    options.clock = &clock_;
    worker_ = std::make_unique<LocalWorker>(options);
    ASSERT_EQ(worker_->refusal_reason(), "");
  }

  // Pushes, as team/greeter:latest, a type whose check answers {"ref": `ref`}.
  void PushType(const std::string& ref) {
    ImageLayout layout(dir_ / ("image-" + ref));
    layout.NewBusyboxImage("t");
    layout.AddLayer("t",
                    {{"opt/resource/check", "#!/bin/sh\necho '[{\"ref\":\"" + ref + "\"}]'\n"}},
                    {{"opt/resource/check", {"", 0755}}});
    layout.Push("t", *registry_, "team/greeter", "latest");
  }

  // The ref a check of a resource of the type answers.
  std::string Check(std::optional<Duration> check_every) {
    ResourceRun run;
    run.id = "check-" + std::to_string(++checks_);
    run.type = "greeter";
    run.custom_type_image = {{"repository", registry_->host() + "/team/greeter"},
                             {"insecure", true}};
    run.custom_type_check_every = check_every;
    auto promise = std::make_shared<std::promise<ResourceResult>>();
    auto future = promise->get_future();
    auto handle =
        worker_->RunResource(run, std::make_shared<RecordingSink>(),
                             [promise](ResourceResult r) { promise->set_value(std::move(r)); });
    ResourceResult r = future.get();
    EXPECT_TRUE(r.error.ok()) << r.error.ToString();
    return r.versions.empty() ? "" : r.versions.back().value("ref", "");
  }

  size_t ManifestRequests() {
    return Count(ReadFile(registry_->log_path()), "/v2/team/greeter/manifests/latest");
  }

  TempDir dir_;
  baton::testing::FakeClock clock_;
  std::unique_ptr<RegistryServer> registry_;
  std::unique_ptr<LocalWorker> worker_;
  int checks_ = 0;
};

TEST_F(RegistryTypeImage, WithinCheckEveryTheDigestFoundIsReusedAndAfterItTheRegistryIsAsked) {
  const Duration every = std::chrono::minutes(10);
  size_t before = ManifestRequests();
  EXPECT_EQ(Check(every), "v1");
  size_t first = ManifestRequests() - before;
  EXPECT_GE(first, 1u);
  PushType("v2");
  size_t pushed = ManifestRequests();
  clock_.Advance(std::chrono::minutes(9));
  EXPECT_EQ(Check(every), "v1") << "the digest found 9 minutes ago was not reused";
  EXPECT_EQ(ManifestRequests(), pushed) << ReadFile(registry_->log_path());
  clock_.Advance(std::chrono::minutes(2));
  EXPECT_EQ(Check(every), "v2");
  EXPECT_GT(ManifestRequests(), pushed);
}

TEST_F(RegistryTypeImage, NeverFindsTheDigestOnceAndAZeroIntervalAsksEachTime) {
  EXPECT_EQ(Check(std::nullopt), "v1");
  PushType("v2");
  clock_.Advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(Check(std::nullopt), "v1");
  EXPECT_EQ(Check(Duration::zero()), "v2");
}

}  // namespace
}  // namespace baton::workers
