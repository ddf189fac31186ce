// Tasks on registry images, end to end: `baton run` with a pipeline whose tasks name an
// `image_resource` of type registry-image in Debian's docker-registry on 127.0.0.1 (an image
// built from busybox-static by the test). The tasks run on the image's root (not the host's),
// as the image's user with the image's env, and the second task on the same image is served
// from the worker's image cache: the registry sees each blob fetched once.
#include <gtest/gtest.h>

#include <fstream>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"
#include "registry-server/registry_fixture.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

TEST(RegistryImageTasks, RunOnTheImageAsItsUserWithItsEnvAndTheSecondTaskDoesNotPullAgain) {
  TempDir dir;
  RegistryServer registry(dir / "registry");
  ImageLayout layout(dir / "image");
  layout.NewBusyboxImage("t");
  layout.AddLayer("t", {{"etc/motd", "hello from the image"}});
  layout.Configure("t", {"PATH=/bin", "GREETING=image-env"}, "app");
  layout.Push("t", registry, "team/tools", "latest");

  std::string image = "{type: registry-image, source: {repository: " + registry.host() +
                      "/team/tools, insecure: true}}";
  std::string script =
      "echo \"uid=$(busybox id -u) greeting=$GREETING motd=$(busybox cat /etc/motd)\"; "
      "if busybox test -e /usr/bin/apt; then echo on-the-host; fi";
  WriteFile(dir / "p.yml", R"(jobs:
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
  ProcessResult r =
      RunBaton({"run", "-c", (dir / "p.yml").string(), "--data-dir", (dir / "data").string()});
  ASSERT_EQ(r.exit_code, 0) << r.All() << ReadFile(registry.log_path());
  EXPECT_NE(r.out.find("uid=1000 greeting=image-env motd=hello from the image"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("uid=1000 greeting=task-param motd=hello from the image"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("on-the-host"), std::string::npos) << r.out;

  // Two layers and a config, each fetched once for both tasks.
  std::string log = ReadFile(registry.log_path());
  EXPECT_EQ(Count(log, "\"GET /v2/team/tools/blobs/sha256:"), 3u) << log;
}

// A Concourse-protocol resource type published as an image: check, in and out are busybox sh
// scripts under /opt/resource that read the request from stdin as Concourse sends it.
TEST(RegistryImageTasks, ACustomResourceTypeFromARegistryImageRunsCheckInAndOut) {
  TempDir dir;
  RegistryServer registry(dir / "registry");
  ImageLayout layout(dir / "image");
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
  layout.Push("t", registry, "team/greeter", "latest");
  WriteFile(dir / "p.yml", R"(resource_types:
- name: greeter
  type: registry-image
  source: {repository: )" + registry.host() +
                               R"(/team/greeter, insecure: true}
resources:
- name: greeting
  type: greeter
  source: {word: hello}
jobs:
- name: job
  plan:
  - get: greeting
  - task: show
    config:
      platform: linux
      inputs: [{name: greeting}]
      run: {path: cat, args: [greeting/got.txt]}
  - put: greeting
)");
  ProcessResult r =
      RunBaton({"run", "-c", (dir / "p.yml").string(), "--data-dir", (dir / "data").string()});
  ASSERT_EQ(r.exit_code, 0) << r.All() << ReadFile(registry.log_path());
  EXPECT_NE(r.out.find("in got {"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"word\":\"hello\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pushed-by-image"), std::string::npos) << r.out;
}

// A task builds an OCI image tarball (a busybox layer, config and manifest written by sh with
// tar, gzip and sha256sum), the put pushes it, and the next task runs on the image the put's
// implicit get fetched back from the registry.
TEST(RegistryImageTasks, APutPushesATaskBuiltImageAndTheNextTaskRunsOnIt) {
  TempDir dir;
  RegistryServer registry(dir / "registry");
  const std::string build = R"(set -e
mkdir -p /tmp/l/bin image/layout/blobs/sha256
cp /bin/busybox /tmp/l/bin/busybox
ln -s busybox /tmp/l/bin/sh
echo built-by-a-task > /tmp/l/hello.txt
tar -C /tmp/l -cf /tmp/layer.tar bin hello.txt
gzip -n < /tmp/layer.tar > /tmp/layer.tgz
blob() { d=$(sha256sum "$1" | cut -c1-64); cp "$1" image/layout/blobs/sha256/$d; echo "sha256:$d"; }
size() { stat -c %s "$1"; }
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","FROM=task"],"User":"1000"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' $(sha256sum /tmp/layer.tar | cut -c1-64) > /tmp/config.json
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' $(blob /tmp/config.json) $(size /tmp/config.json) $(blob /tmp/layer.tgz) $(size /tmp/layer.tgz) > /tmp/manifest.json
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s}]}' $(blob /tmp/manifest.json) $(size /tmp/manifest.json) > image/layout/index.json
printf '{"imageLayoutVersion":"1.0.0"}' > image/layout/oci-layout
tar -C image/layout -cf image/image.tar .
echo v1 > image/tags
)";
  std::string indented;
  for (size_t at = 0; at < build.size();) {
    size_t nl = build.find('\n', at);
    indented += "          " + build.substr(at, nl - at + 1);
    at = nl + 1;
  }
  WriteFile(dir / "p.yml", R"(resources:
- name: app-image
  type: registry-image
  source: {repository: )" + registry.host() +
                               R"(/team/built, insecure: true}
jobs:
- name: job
  plan:
  - task: build-image
    config:
      platform: linux
      outputs: [{name: image}]
      run:
        path: sh
        args:
        - -c
        - |
)" + indented + R"(
  - put: app-image
    params: {image: image/*.tar, additional_tags: image/tags}
  - task: use
    image: app-image
    config:
      platform: linux
      run: {path: sh, args: [-c, 'echo "$(busybox cat /hello.txt) uid=$(busybox id -u) from=$FROM"']}
)");
  ProcessResult r =
      RunBaton({"run", "-c", (dir / "p.yml").string(), "--data-dir", (dir / "data").string()});
  ASSERT_EQ(r.exit_code, 0) << r.All() << ReadFile(registry.log_path());
  EXPECT_NE(r.out.find("built-by-a-task uid=1000 from=task"), std::string::npos) << r.out;
  std::string log = ReadFile(registry.log_path());
  EXPECT_EQ(Count(log, "\"PUT /v2/team/built/manifests/latest"), 1u) << log;
  EXPECT_EQ(Count(log, "\"PUT /v2/team/built/manifests/v1"), 1u) << log;
  EXPECT_EQ(Count(log, "\"GET /v2/team/built/blobs/sha256:"), 2u) << log;  // config + layer
}

}  // namespace
}  // namespace baton::testing
