// Issue 9: paths an author writes (task inputs/outputs/caches, mappings, `file:`) cannot reach
// outside the task's directory: validation refuses them with file:line:col, and the sandbox and
// the executor resolve every path inside its root, never through `..` or a symlink.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "baton/common/path_beneath.h"
#include "baton/pipelines/loader.h"
#include "fakes/test_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::IsolationLevel;
using workers::TaskRun;

// A directory on the host's own disk (not /tmp, which the sandbox replaces) that a crafted path
// aims at; removed afterwards.
class HostTarget {
 public:
  HostTarget() : path_("/var/tmp/baton-escape-" + std::to_string(::getpid())) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ~HostTarget() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class SandboxPaths : public SandboxedWorkerFixture {};

TEST_F(SandboxPaths, ADotDotOutputPathCreatesNothingOutsideTheBuildDir) {
  HostTarget target;
  std::string up;
  for (int i = 0; i < 40; ++i) up += "../";  // more than any depth: `..` at / stays at /
  TaskRun run;
  run.mounts = {{NewVolume("out"), up + target.path().substr(1) + "/made", true}};
  auto f = Sh("echo ran", run);
  EXPECT_FALSE(fs::exists(target.path())) << "the crafted output path created " << target.path();
  ASSERT_FALSE(f.result.error.ok()) << "the task ran with an output outside its directory";
  EXPECT_NE(f.result.error.message().find("contains `..`"), std::string::npos)
      << f.result.error.message();
  EXPECT_EQ(f.sink->Text(), "");
}

TEST_F(SandboxPaths, ASymlinkInAnInputIsNotFollowedToMountAnOutput) {
  HostTarget target;
  fs::create_directories(target.path());
  std::string input = NewVolume("repo");
  fs::create_directory_symlink(target.path(), fs::path(input) / "out");  // left by an earlier step
  TaskRun run;
  run.mounts = {{input, "repo", false}, {NewVolume("out"), "repo/out/made", true}};
  auto f = Sh("echo ran", run);
  EXPECT_TRUE(fs::is_empty(target.path())) << "a mount point was created through the symlink";
  ASSERT_FALSE(f.result.error.ok());
  EXPECT_NE(f.result.error.message().find("repo/out/made"), std::string::npos)
      << f.result.error.message();
  EXPECT_NE(f.result.error.message().find("mount points are never made through links"),
            std::string::npos)
      << f.result.error.message();
}

TEST_F(SandboxPaths, NestedVolumesStillMountInsideEachOther) {
  std::string input = NewVolume("repo");
  WriteFile(fs::path(input) / "f", "in");
  TaskRun run;
  run.mounts = {{input, "repo", true}, {NewVolume("out"), "repo/build/out", true}};
  auto f = Sh("cat repo/f && echo made > repo/build/out/x", run);
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.result.exit_code, 0) << f.sink->Text(workers::OutputStream::kStderr);
  EXPECT_EQ(ReadFile(fs::path(data_dir_) / "volumes/out/x"), "made\n");
}

TEST(PathBeneath, ReadingAFileThroughASymlinkOutOfTheArtifactIsRefused) {
  TempDir artifact;
  fs::create_directories(artifact / "ci");
  WriteFile(artifact / "ci/real.yml", "platform: linux\n");
  fs::create_symlink("/etc/passwd", artifact / "ci/abs.yml");
  fs::create_symlink("../../../../../../etc/passwd", artifact / "ci/rel.yml");
  fs::create_symlink("real.yml", artifact / "ci/inside.yml");
  auto inside = ReadFileBeneath(artifact.path().string(), "ci/inside.yml");
  ASSERT_TRUE(inside.ok()) << inside.status().ToString();
  EXPECT_EQ(*inside, "platform: linux\n");
  for (const char* rel : {"ci/abs.yml", "ci/rel.yml", "../../../../etc/passwd"}) {
    auto read = ReadFileBeneath(artifact.path().string(), rel);
    ASSERT_FALSE(read.ok()) << rel << " was read: " << read->substr(0, 40);
    EXPECT_NE(read.status().message().find("leads outside"), std::string::npos)
        << read.status().message();
  }
}

TEST(PathBeneath, MakingDirectoriesNeverFollowsASymlink) {
  TempDir root;
  HostTarget target;
  fs::create_directories(target.path());
  fs::create_directory_symlink(target.path(), root / "link");
  EXPECT_FALSE(MakeDirsBeneath(root.path().string(), "link/x").ok());
  EXPECT_FALSE(MakeDirsBeneath(root.path().string(), "a/../../x").ok());
  EXPECT_TRUE(fs::is_empty(target.path()));
  ASSERT_TRUE(MakeDirsBeneath(root.path().string(), "a/./b//c").ok());
  EXPECT_TRUE(fs::is_directory(root / "a/b/c"));
}

std::string LoadErrors(const std::string& yaml) {
  pipelines::LoadOptions options;
  options.file_name = "p.yml";
  auto load = pipelines::LoadPipeline(yaml, options);
  return pipelines::RenderAll(load.diagnostics, "");
}

constexpr const char* kPathsPipeline = R"(resources:
- name: repo
  type: mock
jobs:
- name: build
  plan:
  - get: repo
  - task: unit
    input_mapping: {src: repo}
    output_mapping: {out: ../../evil}
    config:
      platform: linux
      run: {path: sh}
      inputs:
      - name: src
        path: /etc
      outputs:
      - name: out
        path: ../../../tmp/x
      caches:
      - path: a/../../b
  - task: from-file
    file: repo/../../../etc/shadow
  - load_var: v
    file: /etc/passwd
)";

TEST(TaskPathValidation, AbsoluteAndDotDotPathsAreErrorsAtTheirPosition) {
  std::string errors = LoadErrors(kPathsPipeline);
  EXPECT_NE(errors.find("p.yml:10:27: error: `output_mapping.out` `../../evil` is not a valid "
                        "artifact name"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("p.yml:16:15: error: `inputs.path` `/etc` is not allowed: the path is "
                        "absolute"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("p.yml:19:15: error: `outputs.path` `../../../tmp/x` is not allowed: the "
                        "path contains `..`"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("p.yml:21:15: error: `caches.path` `a/../../b`"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("p.yml:23:11: error: `file` `repo/../../../etc/shadow` is not allowed"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("p.yml:25:11: error: `file` `/etc/passwd` is not allowed"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("hint: write a path relative to the task's working directory"),
            std::string::npos)
      << errors;
}

TEST(TaskPathValidation, PlainRelativePathsAndVarsPass) {
  std::string ok = R"(resources:
- name: repo
  type: mock
jobs:
- name: build
  plan:
  - get: repo
  - task: unit
    input_mapping: {src: repo}
    config:
      platform: linux
      run: {path: sh}
      inputs: [{name: src, path: go/src/./example}]
      outputs: [{name: out, path: ((out_dir))}]
      caches: [{path: .cache/go}]
)";
  EXPECT_EQ(LoadErrors(ok).find("is not allowed"), std::string::npos) << LoadErrors(ok);
}

}  // namespace
}  // namespace baton::testing
