// Helpers for tests that run real tasks on a LocalWorker: a recording sink, a synchronous run
// with a deadline, shell tasks, and process lookup on the host.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "baton/workers/local_worker.h"
#include "sandbox/sys_util.h"

namespace baton::testing {

struct RecordedLine {
  SystemTime time;
  workers::OutputStream stream;
  std::string text;
};

// Records every line; can wait for a line containing some text.
class RecordingSink : public workers::OutputSink {
 public:
  void OnLine(SystemTime time, workers::OutputStream stream, std::string_view line) override {
    std::lock_guard lock(mu_);
    lines_.push_back({time, stream, std::string(line)});
    cv_.notify_all();
  }
  std::vector<RecordedLine> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }
  // The text of lines from `stream`, joined with '\n'.
  std::string Text(workers::OutputStream stream = workers::OutputStream::kStdout) const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& l : lines_) {
      if (l.stream == stream) out += l.text + "\n";
    }
    return out;
  }
  bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& l : lines_) {
        if (l.text.find(needle) != std::string::npos) return true;
      }
      return false;
    });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RecordedLine> lines_;
};

// Copies `binary` and the libraries ldd lists into `root` (a minimal image rootfs for tests).
inline void CopyWithLibraries(const std::string& binary, const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  auto copy = [&](const std::string& file) {
    fs::path target = root / fs::path(file).relative_path();
    fs::create_directories(target.parent_path());
    fs::copy_file(fs::canonical(file), target, fs::copy_options::overwrite_existing);
    fs::permissions(target, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
  };
  copy(binary);
  FILE* p = popen(("ldd " + binary).c_str(), "r");
  ASSERT_NE(p, nullptr) << "ldd " << binary;
  char line[512];
  std::regex lib(R"((/[^ ]+) \(0x)");
  while (fgets(line, sizeof line, p)) {
    std::cmatch m;
    if (std::regex_search(line, m, lib)) copy(m[1]);
  }
  pclose(p);
}

// A task running `script` with /bin/sh -c in `work_dir`.
inline workers::TaskRun ShellTask(const std::string& id, const std::string& script,
                                  const std::string& work_dir) {
  workers::TaskRun run;
  run.id = id;
  run.path = "/bin/sh";
  run.args = {"-c", script};
  run.work_dir = work_dir;
  return run;
}

struct Finished {
  workers::TaskResult result;
  std::shared_ptr<RecordingSink> sink;
};

// Runs `run` and waits for its result (fails the test after `timeout`).
inline Finished RunAndWait(workers::Worker& worker, const workers::TaskRun& run,
                           std::chrono::seconds timeout = std::chrono::seconds(60)) {
  auto sink = std::make_shared<RecordingSink>();
  auto promise = std::make_shared<std::promise<workers::TaskResult>>();
  auto future = promise->get_future();
  auto handle = worker.RunTask(
      run, sink, [promise](workers::TaskResult r) { promise->set_value(std::move(r)); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    ADD_FAILURE() << "task " << run.id << " did not finish within " << timeout.count() << " s";
    handle->Cancel(std::chrono::seconds(0));
    return {future.get(), sink};
  }
  return {future.get(), sink};
}

// Runs a task whose program does not exist and checks that it is an error saying so, not an exit
// code.
inline void ExpectMissingProgramError(workers::Worker& worker, const std::string& work_dir) {
  workers::TaskRun run;
  run.id = "missing";
  run.path = "/no/such/program";
  run.work_dir = work_dir;
  auto f = RunAndWait(worker, run);
  ASSERT_FALSE(f.result.error.ok());
  EXPECT_NE(f.result.error.message().find("exec '/no/such/program': No such file or directory"),
            std::string::npos)
      << f.result.error.message();
}

// /proc/<pid>/<file> as far as it could be read (sys::ReadSmallFile): an ifstream throws on a read
// error, which a process that exits between the open and the read makes (ESRCH).
inline std::string ProcFile(pid_t pid, const char* file) {
  return workers::sys::ReadSmallFile("/proc/" + std::to_string(pid) + "/" + file);
}

// The children of `parent` (pids whose parent is `parent`).
inline std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = atoi(e.path().filename().c_str());
    if (pid <= 0) continue;
    std::string stat = ProcFile(pid, "stat");
    size_t close = stat.rfind(')');  // the name may hold spaces and parentheses
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(pid);
  }
  return out;
}

// This process's children.
inline std::vector<pid_t> OwnChildren() { return ChildrenOf(::getpid()); }

// Host pids whose command line contains `needle` (or, with `argv0_prefix`, whose argv[0]
// starts with it).
inline std::vector<pid_t> PidsWithCmdline(const std::string& needle, bool argv0_prefix = false) {
  std::vector<pid_t> out;
  DIR* dir = opendir("/proc");
  if (!dir) return out;
  while (dirent* e = readdir(dir)) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    std::ifstream in("/proc/" + std::string(e->d_name) + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool match = argv0_prefix ? cmd.rfind(needle, 0) == 0 : cmd.find(needle) != std::string::npos;
    if (match) out.push_back(pid);
  }
  closedir(dir);
  return out;
}

// Waits until `pred` holds or `timeout` passes; returns the last value of `pred`.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A LocalWorker with its data dir in a fresh directory under /var/tmp (not /tmp, so that
// tests can check the worker's directories are hidden from tasks, not just shadowed by /tmp).
class WorkerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/baton-worker-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    data_dir_ = tmpl;
    workers::LocalWorkerOptions options;
    options.data_dir = data_dir_ + "/worker";
    options.unsafe_no_sandbox = unsafe_;
    worker_ = std::make_unique<workers::LocalWorker>(options);
    work_dir_ = NewWorkDir("build");
  }
  void TearDown() override {
    worker_.reset();
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
  // A new build work dir under the worker's data dir (as the engine would make it).
  std::string NewWorkDir(const std::string& name) {
    std::string dir = data_dir_ + "/worker/builds/" + name;
    std::filesystem::create_directories(dir);
    return dir;
  }
  Finished Sh(const std::string& script, workers::TaskRun run = {}) {
    if (run.id.empty()) run.id = "t" + std::to_string(++counter_);
    run.path = "/bin/sh";
    run.args = {"-c", script};
    if (run.work_dir.empty()) run.work_dir = work_dir_;
    return RunAndWait(*worker_, run);
  }

  bool unsafe_ = false;
  int counter_ = 0;
  std::string data_dir_;
  std::string work_dir_;
  std::unique_ptr<workers::LocalWorker> worker_;
};

// A WorkerFixture whose worker must sandbox with namespaces (the tests fail, not skip, when it
// cannot), with volumes made under its data dir.
class SandboxedWorkerFixture : public WorkerFixture {
 protected:
  void SetUp() override {
    WorkerFixture::SetUp();
    ASSERT_EQ(worker_->isolation(), workers::IsolationLevel::kNamespaces)
        << worker_->refusal_reason();
  }
  // A new volume directory (as a get or an earlier task's output would leave it).
  std::string NewVolume(const std::string& name) {
    std::string dir = data_dir_ + "/volumes/" + name;
    std::filesystem::create_directories(dir);
    return dir;
  }
};

}  // namespace baton::testing
