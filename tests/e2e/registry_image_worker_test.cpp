// Registry images on a `baton worker`, end to end: a `baton web` without a local worker and one
// worker whose work dir the web node cannot see (the worker runs in a mount namespace of its own
// where its work dir is bind-mounted from elsewhere: to the web node that path is an empty
// directory, as on another machine). A task whose image_resource is a registry-image in Debian's
// docker-registry on 127.0.0.1 runs on the worker, on the image's root as the image's user with
// its env; the second task on the same image is served from the worker's image cache (the
// registry sees each blob fetched once). A custom resource type published as an image runs its
// check, in and out on the worker.
#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/server_process.h"
#include "registry-server/registry_fixture.h"

namespace baton::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kKey = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";

class RegistryImageOnWorker : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(web_.started()) << web_.log();
    registry_ = std::make_unique<RegistryServer>(files_ / "registry");
  }

  static std::vector<std::string> WebArgs(const TempDir& keys) {
    WriteFile(keys / "authorized", kKey + "\n");
    return {"--bind", "127.0.0.1:0", "--worker-key", (keys / "authorized").string()};
  }

  // A worker whose --work-dir (`files_/w1`) is, in its own mount namespace, a bind mount of
  // `files_/w1-private`: the web node sees only the empty `files_/w1`.
  std::unique_ptr<ChildProcess> StartHiddenWorker() {
    fs::path key_file = files_ / "worker.key";
    WriteFile(key_file, kKey + "\n");
    fs::path visible = files_ / "w1";
    fs::path hidden = files_ / "w1-private";
    fs::create_directories(visible);
    fs::create_directories(hidden);
    std::vector<std::string> argv{"unshare",
                                  "--mount",
                                  "--propagation",
                                  "private",
                                  "--",
                                  "sh",
                                  "-c",
                                  "mount --bind \"$0\" \"$1\" && shift && exec \"$@\"",
                                  hidden.string(),
                                  visible.string(),
                                  BatonBinary().string(),
                                  "worker",
                                  "--web",
                                  web_.url(),
                                  "--name",
                                  "w1",
                                  "--work-dir",
                                  visible.string(),
                                  "--key",
                                  key_file.string()};
    ProcessOptions options;
    options.timeout = std::chrono::minutes(5);
    auto worker = std::make_unique<ChildProcess>(argv, options);
    EXPECT_TRUE(worker->WaitForOutput("registered with", std::chrono::seconds(60)))
        << worker->out() << worker->err();
    return worker;
  }

  void SetPipeline(const std::string& name, const std::string& yaml) {
    WriteFile(files_ / (name + ".yml"), yaml);
    CliResult set =
        web_.Cli({"set-pipeline", "-n", "-p", name, "-c", (files_ / (name + ".yml")).string()});
    ASSERT_EQ(set.exit_code, 0) << set.All();
  }

  int64_t Trigger(const std::string& pipeline, const std::string& job) {
    ApiReply reply =
        web_.Api("POST", "/api/v1/teams/main/pipelines/" + pipeline + "/jobs/" + job + "/builds");
    EXPECT_EQ(reply.status, 201) << reply.text;
    return reply.json.is_object() ? reply.json.value("id", int64_t{-1}) : -1;
  }

  std::string Source(const std::string& repository) const {
    return "{repository: " + registry_->host() + "/" + repository + ", insecure: true}";
  }

  TempDir keys_;
  TempDir files_;
  ServerProcess web_{WebArgs(keys_), "web"};
  std::unique_ptr<RegistryServer> registry_;
};

TEST_F(RegistryImageOnWorker, TasksOnARegistryImageRunOnTheWorkerAndTheSecondDoesNotPullAgain) {
  ImageLayout layout(files_ / "image");
  layout.NewBusyboxImage("t");
  layout.AddLayer("t", {{"etc/motd", "hello from the image"}});
  layout.Configure("t", {"PATH=/bin", "GREETING=image-env"}, "app");
  layout.Push("t", *registry_, "team/tools", "latest");
  auto worker = StartHiddenWorker();
  ASSERT_FALSE(fs::exists(files_ / "w1" / "images")) << "the web node must not see the worker";

  std::string image = "{type: registry-image, source: " + Source("team/tools") + "}";
  std::string script =
      "echo \"uid=$(busybox id -u) greeting=$GREETING motd=$(busybox cat /etc/motd)\"; "
      "if busybox test -e /usr/bin/apt; then echo on-the-host; fi";
  SetPipeline("images", R"(jobs:
- name: job
  plan:
  - task: first
    config:
      platform: linux
      image_resource: )" + image +
                            R"(
      run: {path: sh, args: [-c, ')" +
                            script + R"(']}
  - task: second
    config:
      platform: linux
      image_resource: )" + image +
                            R"(
      params: {GREETING: task-param}
      run: {path: sh, args: [-c, ')" +
                            script + R"(']}
)");
  int64_t id = Trigger("images", "job");
  json builds = web_.WaitForFinishedBuilds("images", "job", 1, std::chrono::minutes(3));
  ASSERT_EQ(builds.size(), 1u) << web_.log() << worker->out() << worker->err();
  std::string log = web_.BuildLog(id);
  ASSERT_EQ(builds[0].value("status", ""), "succeeded")
      << log << worker->out() << worker->err() << ReadFile(registry_->log_path());
  EXPECT_NE(log.find("uid=1000 greeting=image-env motd=hello from the image"), std::string::npos)
      << log;
  EXPECT_NE(log.find("uid=1000 greeting=task-param motd=hello from the image"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("on-the-host"), std::string::npos) << log;
  EXPECT_TRUE(worker->WaitForOutput("running step", std::chrono::seconds(10))) << worker->out();

  // Two layers and a config, each fetched once for the image's get and both tasks.
  std::string registry_log = ReadFile(registry_->log_path());
  EXPECT_EQ(Count(registry_log, "\"GET /v2/team/tools/blobs/sha256:"), 3u) << registry_log;
}

// A Concourse-protocol resource type published as an image: check, in and out are busybox sh
// scripts under /opt/resource, pulled and run by the worker.
TEST_F(RegistryImageOnWorker, ACustomResourceTypeFromARegistryImageRunsOnTheWorker) {
  ImageLayout layout(files_ / "image");
  layout.NewBusyboxImage("t");
  const std::string head = "#!/bin/sh\nbusybox cat > /tmp/request.json\n";
  layout.AddLayer(
      "t",
      {{"opt/resource/check", head + "echo '[{\"ref\":\"v1\"}]'\n"},
       {"opt/resource/in", head +
                               "echo \"in got $(busybox cat /tmp/request.json)\" > \"$1/got.txt\"\n"
                               "echo '{\"version\":{\"ref\":\"v1\"}}'\n"},
       {"opt/resource/out", head + "echo '{\"version\":{\"ref\":\"pushed-by-image\"}}'\n"}},
      {{"opt/resource/check", {"", 0755}},
       {"opt/resource/in", {"", 0755}},
       {"opt/resource/out", {"", 0755}}});
  layout.Push("t", *registry_, "team/greeter", "latest");
  auto worker = StartHiddenWorker();
  SetPipeline("types", R"(resource_types:
- name: greeter
  type: registry-image
  source: )" + Source("team/greeter") +
                           R"(
resources:
- name: greeting
  type: greeter
  source: {word: hello}
- name: announcement
  type: greeter
  source: {word: bye}
jobs:
- name: job
  plan:
  - get: greeting
    trigger: true
  - task: show
    config:
      platform: linux
      inputs: [{name: greeting}]
      run: {path: cat, args: [greeting/got.txt]}
  - put: announcement
)");
  json builds = web_.WaitForFinishedBuilds("types", "job", 1, std::chrono::minutes(3));
  ASSERT_EQ(builds.size(), 1u) << web_.log() << worker->out() << worker->err();
  std::string log = web_.BuildLog(builds[0].value("id", int64_t{0}));
  ASSERT_EQ(builds[0].value("status", ""), "succeeded") << log << worker->out() << worker->err();
  EXPECT_NE(log.find("in got {"), std::string::npos) << log;
  EXPECT_NE(log.find("\"word\":\"hello\""), std::string::npos) << log;
  json versions = web_.Get("/api/v1/teams/main/pipelines/types/resources/announcement/versions");
  EXPECT_NE(versions.dump().find("pushed-by-image"), std::string::npos) << versions.dump();
}

}  // namespace
}  // namespace baton::testing
