// Issue 9: on the host root, what no task has a reason to see is masked even from privileged
// tasks (which run as the host's root): /root, /home, the worker's and server's data dirs and
// any path given by flag (another Baton's data dir, a token file).
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "fakes/test_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::IsolationLevel;
using workers::TaskRun;

// A file the test plants on the host, removed afterwards.
class Planted {
 public:
  // `own_dir`: the file's directory is the test's too and goes with it.
  Planted(const std::string& path, const std::string& content, bool own_dir = false)
      : path_(path), own_dir_(own_dir) {
    fs::create_directories(fs::path(path).parent_path());
    WriteFile(path, content);
  }
  ~Planted() {
    std::error_code ec;
    fs::remove(path_, ec);
    if (own_dir_) fs::remove(fs::path(path_).parent_path(), ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool own_dir_;
};

class Masking : public WorkerFixture {
 protected:
  void SetUp() override {
    other_ = "/var/tmp/baton-other-data-" + std::to_string(::getpid());
    loose_ = "/var/tmp/baton-loose-token-" + std::to_string(::getpid());
    WorkerFixture::SetUp();
    // A worker told (as by --mask-path) about another Baton's data dir and a token file.
    workers::LocalWorkerOptions options;
    options.data_dir = data_dir_ + "/masking-worker";
    options.hidden_paths = {other_, loose_};
    masked_worker_ = std::make_unique<workers::LocalWorker>(options);
    ASSERT_EQ(masked_worker_->isolation(), IsolationLevel::kNamespaces)
        << masked_worker_->refusal_reason();
  }
  void TearDown() override {
    masked_worker_.reset();
    std::error_code ec;
    fs::remove_all(other_, ec);
    fs::remove(loose_, ec);
    WorkerFixture::TearDown();
  }
  Finished Privileged(const std::string& script) {
    TaskRun run = ShellTask("p" + std::to_string(++counter_), script, work_dir_);
    run.privileged = true;
    return RunAndWait(*masked_worker_, run);
  }

  std::string other_, loose_;
  std::unique_ptr<workers::LocalWorker> masked_worker_;
};

TEST_F(Masking, APrivilegedTaskSeesNothingOfRootOrHome) {
  std::string id = std::to_string(::getpid());
  Planted in_root("/root/.baton-mask-test-" + id, "root-secret-" + id);
  Planted in_home("/home/baton-mask-test-" + id + "/.batonrc", "home-secret-" + id,
                  /*own_dir=*/true);
  auto f = Privileged("id -u; ls -A /root /home | grep -c baton-mask-test; cat " + in_root.path() +
                      " " + in_home.path() + " 2>&1; echo end");
  std::string text = f.sink->Text();
  EXPECT_EQ(text.rfind("0\n0\n", 0), 0u) << "root, and nothing of the test's listed: " << text;
  EXPECT_EQ(text.find("secret-" + id), std::string::npos) << text;
  EXPECT_NE(text.find("No such file or directory"), std::string::npos) << text;
}

TEST_F(Masking, APrivilegedTaskCannotReadAnotherDataDirOrATokenFileGivenByFlag) {
  Planted token(other_ + "/admin-token", "other-admin-token");
  Planted loose(loose_, "loose-token-value");
  auto f = Privileged("cat " + token.path() + " 2>&1; cat " + loose.path() + "; echo end");
  std::string text = f.sink->Text();
  EXPECT_EQ(text.find("other-admin-token"), std::string::npos) << text;
  EXPECT_EQ(text.find("loose-token-value"), std::string::npos) << text;
  EXPECT_NE(text.find("end"), std::string::npos) << text;
  EXPECT_EQ(ReadFile(loose_), "loose-token-value") << "the host's file is untouched";
}

TEST_F(Masking, APrivilegedTaskCannotSeeTheWorkersOwnDataDir) {
  Planted mine(data_dir_ + "/masking-worker/secret", "worker-secret");
  auto f = Privileged("ls -A " + data_dir_ + "/masking-worker 2>&1; cat " + mine.path() +
                      " 2>&1; echo end");
  EXPECT_EQ(f.sink->Text().find("worker-secret"), std::string::npos) << f.sink->Text();
}

// The masked directories share one empty read-only tmpfs (bound over each): none may be
// written, even by a privileged task, and none shows anything of the host.
TEST_F(Masking, EveryMaskedDirectoryIsEmptyAndReadOnlyEvenForAPrivilegedTask) {
  Planted other_secret(other_ + "/admin-token", "other-admin-token");
  auto f = Privileged("for d in /root /home " + other_ +
                      "; do touch $d/baton-mask-write 2>&1; mkdir $d/baton-mask-dir 2>&1; "
                      "echo $d:$(ls -A $d | wc -l); done");
  std::string text = f.sink->Text();
  for (const std::string& d : {std::string("/root"), std::string("/home"), other_}) {
    EXPECT_NE(text.find(d + ":0\n"), std::string::npos) << d << " is empty: " << text;
    EXPECT_FALSE(fs::exists(d + "/baton-mask-write")) << d;
    EXPECT_FALSE(fs::exists(d + "/baton-mask-dir")) << d;
  }
  size_t read_only = 0;
  for (size_t at = text.find("Read-only file system"); at != std::string::npos;
       at = text.find("Read-only file system", at + 1)) {
    ++read_only;
  }
  EXPECT_EQ(read_only, 6u) << text;
}

}  // namespace
}  // namespace baton::testing
