// A task whose root is a registry image named by source and digest (RootfsSpec::Kind::kImage),
// as the web node sends it to the worker that runs the task: that worker serves it from its own
// image cache, pulling it from Debian's docker-registry on 127.0.0.1 the first time only (and a
// task asking while that pull runs waits for it). The form survives the worker protocol's JSON.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "baton/workers/http_transport.h"
#include "baton/workers/local_worker.h"
#include "baton/workers/step_wire.h"
#include "fakes/test_env.h"
#include "registry-server/registry_fixture.h"
#include "workers/task_test_util.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::Count;
using baton::testing::ImageLayout;
using baton::testing::ReadFile;
using baton::testing::RegistryServer;
using baton::testing::TempDir;

TEST(RegistryTaskImageWire, AnImageRootTravelsAsSourceAndDigest) {
  wire::Step step;
  step.id = "s1";
  step.task.id = "b1-t";
  step.task.path = "sh";
  step.task.work_dir = wire::VolumeRef(0);
  step.task.rootfs.kind = RootfsSpec::Kind::kImage;
  step.task.rootfs.image_source = {{"repository", "127.0.0.1:5000/team/tools"}, {"insecure", true}};
  step.task.rootfs.image_digest = "sha256:" + std::string(64, 'a');
  step.volumes.push_back({0, "/web/vol", "sha256:x", true});
  Result<wire::Step> back = wire::StepFromJson(wire::ToJson(step));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->task.rootfs.kind, RootfsSpec::Kind::kImage);
  EXPECT_EQ(back->task.rootfs.image_source, step.task.rootfs.image_source);
  EXPECT_EQ(back->task.rootfs.image_digest, step.task.rootfs.image_digest);
  EXPECT_EQ(back->task.rootfs.path, "");

  Json unknown = wire::ToJson(step);
  unknown["task"]["rootfs"]["kind"] = "floppy";
  Result<wire::Step> refused = wire::StepFromJson(unknown);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("floppy"), std::string::npos)
      << refused.status().ToString();
}

class RegistryTaskImage : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<RegistryServer>(dir_ / "registry");
    ImageLayout layout(dir_ / "image");
    layout.NewBusyboxImage("t");
    layout.AddLayer("t", {{"etc/motd", "hello from the image"}});
    layout.Push("t", *registry_, "team/tools", "latest");
    LocalWorkerOptions options;
    options.data_dir = (dir_ / "worker").string();
    options.http_transport = MakeHttpTransportFactory();
    worker_ = std::make_unique<LocalWorker>(options);
    ASSERT_EQ(worker_->refusal_reason(), "");
  }

  Json Source() const {
    return {{"repository", registry_->host() + "/team/tools"}, {"insecure", true}};
  }

  // The digest `latest` names (registry-image's check: a HEAD, no blob fetched).
  std::string Digest() {
    ResourceRun check;
    check.id = "check";
    check.type = "registry-image";
    check.source = Source();
    auto promise = std::make_shared<std::promise<ResourceResult>>();
    auto future = promise->get_future();
    auto handle =
        worker_->RunResource(check, std::make_shared<baton::testing::RecordingSink>(),
                             [promise](ResourceResult r) { promise->set_value(std::move(r)); });
    ResourceResult r = future.get();
    EXPECT_TRUE(r.error.ok()) << r.error.ToString();
    return r.versions.empty() ? "" : r.versions.back().value("digest", "");
  }

  TaskRun OnImage(const std::string& id, const std::string& digest) {
    fs::path work = dir_ / ("work-" + id);
    fs::create_directories(work);
    TaskRun run = baton::testing::ShellTask(
        id, "echo \"motd=$(cat /etc/motd)\"; if [ -e /usr/bin/apt ]; then echo on-the-host; fi",
        work.string());
    run.path = "sh";
    run.env["PATH"] = "/bin";
    run.rootfs.kind = RootfsSpec::Kind::kImage;
    run.rootfs.image_source = Source();
    run.rootfs.image_digest = digest;
    return run;
  }

  TempDir dir_;
  std::unique_ptr<RegistryServer> registry_;
  std::unique_ptr<LocalWorker> worker_;
};

TEST_F(RegistryTaskImage, TheWorkerPullsTheImageOnFirstUseAndServesTheNextTaskFromItsCache) {
  std::string digest = Digest();
  ASSERT_EQ(digest.rfind("sha256:", 0), 0u) << digest;
  auto first = baton::testing::RunAndWait(*worker_, OnImage("first", digest));
  ASSERT_TRUE(first.result.error.ok()) << first.result.error.ToString();
  EXPECT_EQ(first.result.exit_code, 0) << first.sink->Text();
  EXPECT_NE(first.sink->Text().find("motd=hello from the image"), std::string::npos)
      << first.sink->Text();
  EXPECT_EQ(first.sink->Text().find("on-the-host"), std::string::npos) << first.sink->Text();
  std::string system = first.sink->Text(OutputStream::kSystem);
  EXPECT_NE(system.find("pulled into the worker's image cache"), std::string::npos) << system;

  auto second = baton::testing::RunAndWait(*worker_, OnImage("second", digest));
  ASSERT_TRUE(second.result.error.ok()) << second.result.error.ToString();
  EXPECT_NE(second.sink->Text().find("motd=hello from the image"), std::string::npos)
      << second.sink->Text();
  system = second.sink->Text(OutputStream::kSystem);
  EXPECT_NE(system.find(": from the worker's image cache"), std::string::npos) << system;
  // Two layers and a config, each fetched once for both tasks.
  std::string log = ReadFile(registry_->log_path());
  EXPECT_EQ(Count(log, "\"GET /v2/team/tools/blobs/sha256:"), 3u) << log;
}

TEST_F(RegistryTaskImage, AnImageTheRegistryDoesNotHaveErrorsTheTaskSayingSo) {
  auto r =
      baton::testing::RunAndWait(*worker_, OnImage("missing", "sha256:" + std::string(64, 'b')));
  ASSERT_FALSE(r.result.error.ok());
  const std::string& message = r.result.error.message();
  EXPECT_NE(message.find("task image"), std::string::npos) << message;
  EXPECT_NE(message.find("team/tools"), std::string::npos) << message;
  EXPECT_NE(message.find("404"), std::string::npos) << message;
}

// Passes requests to the registry, holding the first blob download until Release(); counts the
// requests that come while it is held.
class BlobGate {
 public:
  class Transport : public HttpTransport {
   public:
    Transport(std::unique_ptr<HttpTransport> real, BlobGate* gate)
        : real_(std::move(real)), gate_(gate) {}
    Result<HttpResponse> Send(const HttpRequest& request) override {
      gate_->Pass(request);
      return real_->Send(request);
    }

   private:
    std::unique_ptr<HttpTransport> real_;
    BlobGate* gate_;
  };

  // Waits (up to `timeout`) until the first blob download is held.
  bool WaitHeld(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return held_; });
  }
  // Waits (up to `timeout`) for another request while the blob is held; false if none came.
  bool WaitOtherRequest(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return others_ > 0; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  int others() {
    std::lock_guard<std::mutex> lock(mu_);
    return others_;
  }

 private:
  void Pass(const HttpRequest& request) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!held_ && request.method == "GET" && request.url.find("/blobs/") != std::string::npos) {
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    } else if (held_ && !released_) {
      ++others_;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool released_ = false;
  int others_ = 0;
};

struct Started {
  std::shared_ptr<baton::testing::RecordingSink> sink;
  std::future<TaskResult> result;
  std::unique_ptr<StepHandle> handle;
};

Started Start(LocalWorker& worker, const TaskRun& run) {
  auto sink = std::make_shared<baton::testing::RecordingSink>();
  auto promise = std::make_shared<std::promise<TaskResult>>();
  Started started{sink, promise->get_future(), nullptr};
  started.handle =
      worker.RunTask(run, sink, [promise](TaskResult r) { promise->set_value(std::move(r)); });
  return started;
}

// The second task asks for the image while the first is still pulling it: it waits for that
// pull instead of starting its own (ImageCache::Entry's per-entry lock), so nothing more is
// asked of the registry. The first blob download is held until the second task has had ample
// time to ask (a pull of its own would show as a request meanwhile).
TEST_F(RegistryTaskImage, ATaskAskingForAnImageBeingPulledWaitsForThatPull) {
  std::string digest = Digest();
  ASSERT_EQ(digest.rfind("sha256:", 0), 0u) << digest;
  BlobGate gate;
  HttpTransportFactory real = MakeHttpTransportFactory();
  LocalWorkerOptions options;
  options.data_dir = (dir_ / "gated-worker").string();
  options.http_transport = [&](const HttpTransportOptions& o) {
    return std::make_unique<BlobGate::Transport>(real(o), &gate);
  };
  LocalWorker worker(options);
  ASSERT_EQ(worker.refusal_reason(), "");
  struct ReleaseOnExit {  // before the worker goes, whatever failed
    BlobGate& gate;
    ~ReleaseOnExit() { gate.Release(); }
  } release{gate};
  size_t before = Count(ReadFile(registry_->log_path()), "\"GET /v2/team/tools/blobs/sha256:");

  Started first = Start(worker, OnImage("first", digest));
  ASSERT_TRUE(gate.WaitHeld(std::chrono::seconds(60)));
  Started second = Start(worker, OnImage("second", digest));
  bool pulled_twice = gate.WaitOtherRequest(std::chrono::seconds(5));
  gate.Release();
  ASSERT_EQ(first.result.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  ASSERT_EQ(second.result.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  TaskResult one = first.result.get();
  TaskResult two = second.result.get();
  ASSERT_TRUE(one.error.ok()) << one.error.ToString();
  ASSERT_TRUE(two.error.ok()) << two.error.ToString();
  EXPECT_NE(second.sink->Text().find("motd=hello from the image"), std::string::npos)
      << second.sink->Text();
  EXPECT_FALSE(pulled_twice) << gate.others() << " requests came while the first pull was held";
  EXPECT_NE(second.sink->Text(OutputStream::kSystem).find(": from the worker's image cache"),
            std::string::npos)
      << second.sink->Text(OutputStream::kSystem);
  std::string log = ReadFile(registry_->log_path());
  EXPECT_EQ(Count(log, "\"GET /v2/team/tools/blobs/sha256:") - before, 3u) << log;
}

}  // namespace
}  // namespace baton::workers
