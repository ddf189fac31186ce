// Protocol resource types against real shell scripts, run on the host by a fake run_process
// (the sandbox is another engineer's; here only the protocol is under test).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "baton/workers/resource_type.h"
#include "fakes/test_env.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::ReadFile;
using baton::testing::TempDir;
using baton::testing::WriteFile;

// Runs TaskRun::path from the rootfs directory on the host, with sandbox mount paths in args
// replaced by their host paths.
class HostScriptRunner {
 public:
  TaskResult operator()(const TaskRun& run) {
    runs.push_back(run);
    TaskResult result;
    std::string cmd = "'" + run.rootfs.path + run.path + "'";
    for (std::string arg : run.args) {
      for (const VolumeMount& m : run.mounts) {
        if (arg == m.sandbox_path) arg = m.host_path;
      }
      cmd += " '" + arg + "'";
    }
    WriteFile(scratch / "stdin", run.stdin_data.value_or(""));
    std::string env;
    for (const auto& [k, v] : run.env) env += k + "='" + v + "' ";
    std::string full = "cd / && env " + env + cmd + " < '" + (scratch / "stdin").string() +
                       "' > '" + (scratch / "stdout").string() + "' 2> '" +
                       (scratch / "stderr").string() + "'";
    int status = std::system(full.c_str());
    result.exit_code = WEXITSTATUS(status);
    result.stdout_data = ReadFile(scratch / "stdout");
    result.stderr_tail = ReadFile(scratch / "stderr");
    return result;
  }
  TempDir scratch;
  std::vector<TaskRun> runs;
};

class ProtocolResource : public ::testing::Test {
 protected:
  ProtocolResource() {
    ctx_.run_process = [this](const TaskRun& run) { return runner_(run); };
    ctx_.env = {{"BUILD_ID", "42"}};
    type_ =
        MakeProtocolResourceType(RootfsSpec{RootfsSpec::Kind::kDirectory, rootfs_.path()}, false);
  }
  void Script(const std::string& name, const std::string& body) {
    fs::path p = rootfs_ / ("opt/resource/" + name);
    WriteFile(p, "#!/bin/sh\n" + body);
    fs::permissions(p, fs::perms(0755));
  }
  TempDir rootfs_;
  HostScriptRunner runner_;
  ResourceContext ctx_;
  std::unique_ptr<ResourceType> type_;
};

TEST_F(ProtocolResource, CheckSendsSourceAndVersionAndReadsTheVersionArray) {
  Script("check",
         "cat > \"$(dirname \"$0\")/request.json\"\n"
         "echo 'checking...' >&2\n"
         "echo '[{\"ref\":\"a\"},{\"ref\":\"b\"}]'\n");
  auto versions = type_->Check(ctx_, {{"uri", "x"}}, {{"ref", "a"}});
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(*versions, (std::vector<Json>{{{"ref", "a"}}, {{"ref", "b"}}}));
  Json request = Json::parse(ReadFile(rootfs_ / "opt/resource/request.json"));
  EXPECT_EQ(request, Json({{"source", {{"uri", "x"}}}, {"version", {{"ref", "a"}}}}));
  ASSERT_EQ(runner_.runs.size(), 1u);
  EXPECT_EQ(runner_.runs[0].path, "/opt/resource/check");
  EXPECT_TRUE(runner_.runs[0].capture_stdout);
}

TEST_F(ProtocolResource, InFillsTheMountedDirectoryAndReturnsVersionAndMetadata) {
  Script("in",
         "cat > \"$1/request.json\"\n"
         "echo \"$BUILD_ID\" > \"$1/build_id\"\n"
         "echo '{\"version\":{\"ref\":\"a\"},\"metadata\":[{\"name\":\"n\",\"value\":\"v\"}]}'\n");
  TempDir dest;
  auto got = type_->Get(ctx_, {{"uri", "x"}}, {{"ref", "a"}}, {{"depth", 1}}, dest.path().string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->version, Json({{"ref", "a"}}));
  ASSERT_EQ(got->metadata.size(), 1u);
  EXPECT_EQ(got->metadata[0].name, "n");
  EXPECT_EQ(Json::parse(ReadFile(dest / "request.json"))["params"], Json({{"depth", 1}}));
  EXPECT_EQ(ReadFile(dest / "build_id"), "42\n");
  const TaskRun& run = runner_.runs.at(0);
  EXPECT_EQ(run.args, std::vector<std::string>{"/tmp/build/get"});
  ASSERT_EQ(run.mounts.size(), 1u);
  EXPECT_EQ(run.mounts[0].sandbox_path, "/tmp/build/get");
}

TEST_F(ProtocolResource, OutGetsSourceAndParamsAndTheArtifactsDirectory) {
  Script("out",
         "cat > \"$1/request.json\"\n"
         "echo '{\"version\":{\"v\":\"2\"}}'\n");
  TempDir artifacts;
  auto put = type_->Put(ctx_, {{"uri", "x"}}, {{"file", "f"}}, artifacts.path().string());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->version, Json({{"v", "2"}}));
  EXPECT_EQ(Json::parse(ReadFile(artifacts / "request.json")),
            Json({{"source", {{"uri", "x"}}}, {"params", {{"file", "f"}}}}));
  EXPECT_EQ(runner_.runs.at(0).args, std::vector<std::string>{"/tmp/build/put"});
}

TEST_F(ProtocolResource, AFailingScriptIsAnErrorQuotingItsLastStderrLines) {
  Script("check", "echo 'line 1' >&2\necho 'fatal: repository not found' >&2\nexit 3\n");
  auto versions = type_->Check(ctx_, Json::object(), nullptr);
  ASSERT_FALSE(versions.ok());
  EXPECT_NE(versions.status().message().find("/opt/resource/check exited 3"), std::string::npos);
  EXPECT_NE(versions.status().message().find("fatal: repository not found"), std::string::npos);
}

TEST_F(ProtocolResource, InvalidJsonIsAnErrorThatSaysStdoutIsForJson) {
  Script("check", "echo 'not json'\n");
  auto versions = type_->Check(ctx_, Json::object(), nullptr);
  ASSERT_FALSE(versions.ok());
  EXPECT_NE(versions.status().message().find("invalid JSON from check"), std::string::npos);
  Script("in", "echo '[1,2]'\n");
  TempDir dest;
  auto got = type_->Get(ctx_, Json::object(), {{"v", 1}}, Json::object(), dest.path().string());
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("invalid JSON from in"), std::string::npos);
}

TEST_F(ProtocolResource, ARunnerFailureIsReportedAsSuch) {
  ctx_.run_process = [](const TaskRun&) {
    TaskResult r;
    r.error = Unavailable("sandbox unavailable");
    return r;
  };
  auto versions = type_->Check(ctx_, Json::object(), nullptr);
  ASSERT_FALSE(versions.ok());
  EXPECT_EQ(versions.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(versions.status().message().find("could not run"), std::string::npos);
}

}  // namespace
}  // namespace baton::workers
