// LocalWorker: abort, streams, capture, threads, unsafe mode, refusal, caches, resource steps.
#include "baton/workers/local_worker.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <span>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "fakes/test_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::IsolationLevel;
using workers::OutputStream;
using workers::TaskResult;
using workers::TaskRun;

// Starts `run`; returns a future for its result and the handle.
struct Started {
  std::future<TaskResult> result;
  std::unique_ptr<workers::StepHandle> handle;
  std::shared_ptr<RecordingSink> sink;
};
Started Start(workers::Worker& worker, const TaskRun& run) {
  auto sink = std::make_shared<RecordingSink>();
  auto promise = std::make_shared<std::promise<TaskResult>>();
  Started s{promise->get_future(), nullptr, sink};
  s.handle = worker.RunTask(run, sink, [promise](TaskResult r) { promise->set_value(r); });
  return s;
}

TaskRun Bash(const std::string& id, const std::string& script, const std::string& work_dir) {
  TaskRun run = ShellTask(id, script, work_dir);
  run.path = "/bin/bash";
  return run;
}

// A tree with a TERM-ignoring child and a setsid-escaped grandchild, each findable by `marker`.
std::string StubbornTree(const std::string& marker) {
  return "trap '' TERM; "
         "setsid bash -c 'exec -a " +
         marker +
         "-setsid sleep 1000' & "
         "bash -c \"trap '' TERM; exec -a " +
         marker +
         "-trapper sleep 1000\" & "
         "echo started; wait";
}

void ExpectAbortKillsEverything(workers::Worker& worker, const std::string& work_dir) {
  std::string marker = "baton-abort-" + std::to_string(getpid()) + "-" +
                       std::to_string(static_cast<int>(worker.isolation()));
  auto s = Start(worker, Bash("abort", StubbornTree(marker), work_dir));
  ASSERT_TRUE(s.sink->WaitFor("started", std::chrono::seconds(30)));
  ASSERT_TRUE(Eventually([&] {
    return PidsWithCmdline(marker, /*argv0_prefix=*/true).size() == 2;
  })) << "both stubborn processes run before the abort";
  auto begin = std::chrono::steady_clock::now();
  s.handle->Cancel(std::chrono::milliseconds(300));
  ASSERT_EQ(s.result.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  TaskResult r = s.result.get();
  EXPECT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << "TERM was ignored, so KILL after the grace period";
  EXPECT_GE(std::chrono::steady_clock::now() - begin, std::chrono::milliseconds(250));
  EXPECT_TRUE(PidsWithCmdline(marker).empty()) << "no process of the task is left";
}

TEST_F(WorkerFixture, AbortKillsTheWholeTreeIncludingSetsidAndTermTrappingProcesses) {
  ASSERT_EQ(worker_->isolation(), IsolationLevel::kNamespaces);
  ExpectAbortKillsEverything(*worker_, work_dir_);
}

TEST_F(WorkerFixture, AbortSendsTermFirstAndTheTaskMayExitCleanly) {
  auto s = Start(*worker_, Bash("term",
                                "trap 'echo got-term; exit 7' TERM; echo ready; "
                                "sleep 1000 & wait",
                                work_dir_));
  ASSERT_TRUE(s.sink->WaitFor("ready", std::chrono::seconds(30)));
  s.handle->Cancel(std::chrono::seconds(60));
  ASSERT_EQ(s.result.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  TaskResult r = s.result.get();
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_NE(s.sink->Text().find("got-term"), std::string::npos);
}

TEST_F(WorkerFixture, StdinIsWrittenThenClosedAndStdoutCanBeCaptured) {
  TaskRun run = ShellTask("stdin", "cat; echo done >&2", work_dir_);
  run.stdin_data = "hello\nworld";
  run.capture_stdout = true;
  auto f = RunAndWait(*worker_, run);
  EXPECT_EQ(f.result.stdout_data, "hello\nworld");
  EXPECT_EQ(f.sink->Text(OutputStream::kStdout), "") << "captured stdout is not logged";
  EXPECT_EQ(f.sink->Text(OutputStream::kStderr), "done\n");
  EXPECT_EQ(f.result.stderr_tail, "done\n");
}

TEST_F(WorkerFixture, ALargeStdinIsDeliveredWhole) {
  TaskRun run = ShellTask("big-stdin", "wc -c", work_dir_);
  run.stdin_data = std::string(3 << 20, 'x');
  EXPECT_EQ(RunAndWait(*worker_, run).sink->Text(), "3145728\n");
}

TEST_F(WorkerFixture, WithoutStdinDataStdinIsEmpty) {
  EXPECT_EQ(Sh("cat; echo end").sink->Text(), "end\n");
}

TEST_F(WorkerFixture, CapturedStdoutIsBoundedTo16MiB) {
  TaskRun run;
  run.capture_stdout = true;
  auto f = Sh("head -c 20M /dev/zero", run);
  EXPECT_EQ(f.result.stdout_data.size(), 16u << 20);
  EXPECT_NE(f.sink->Text(OutputStream::kSystem).find("16 MiB"), std::string::npos);
}

TEST_F(WorkerFixture, OutputLinesCarryTheirStreamAndTimestampsInOrder) {
  auto f = Sh("echo one; echo two >&2; sleep 0.05; echo three; printf 'no-newline'");
  std::vector<std::pair<OutputStream, std::string>> got;
  SystemTime last{};
  for (const auto& l : f.sink->lines()) {
    got.emplace_back(l.stream, l.text);
    EXPECT_GE(l.time, last);
    last = l.time;
  }
  std::vector<std::pair<OutputStream, std::string>> want = {{OutputStream::kStdout, "one"},
                                                            {OutputStream::kStderr, "two"},
                                                            {OutputStream::kStdout, "three"},
                                                            {OutputStream::kStdout, "no-newline"}};
  EXPECT_EQ(got, want);
  auto lines = f.sink->lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_GE(lines[2].time - lines[1].time, std::chrono::milliseconds(40));
}

// What redaction relies on (the executor redacts each line, or run of whole lines, it gets): a
// secret the task wrote across two reads reaches the sink in one line.
TEST_F(WorkerFixture, ALineWrittenInTwoReadsArrivesWhole) {
  auto f = Sh("printf 'first\\nbefore hun'; sleep 0.05; printf 'ter2 after\\nnext\\n'");
  std::vector<std::string> got;
  for (const auto& l : f.sink->lines()) got.push_back(l.text);
  EXPECT_EQ(got, (std::vector<std::string>{"first", "before hunter2 after", "next"}));
}

TEST_F(WorkerFixture, LinesLongerThan64KiBAreSplit) {
  auto f = Sh("head -c 200000 /dev/zero | tr '\\0' a; echo; echo short");
  std::vector<size_t> sizes;
  for (const auto& l : f.sink->lines()) sizes.push_back(l.text.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{65536, 65536, 65536, 200000 - 3 * 65536, 5}));
}

// Counts output without keeping it.
class CountingSink : public workers::OutputSink {
 public:
  void OnLine(SystemTime, OutputStream, std::string_view line) override {
    bytes += line.size();
    ++lines;
    if (line.size() > longest) longest = line.size();
  }
  std::atomic<size_t> bytes{0}, lines{0}, longest{0};
};

int64_t PeakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      int64_t kb;
      in >> kb;
      return kb;
    }
  }
  return -1;
}

TEST_F(WorkerFixture, HundredsOfMegabytesOfOutputDoNotGrowMemory) {
  int64_t before = PeakRssKb();
  for (const char* script : {"yes 'a line of output that is about eighty characters long, "
                             "repeated many times...' | head -c 300M",
                             "head -c 300M /dev/zero"}) {
    TaskRun run = ShellTask("huge", script, work_dir_);
    auto sink = std::make_shared<CountingSink>();
    auto promise = std::make_shared<std::promise<TaskResult>>();
    auto future = promise->get_future();
    auto h = worker_->RunTask(run, sink, [promise](TaskResult r) { promise->set_value(r); });
    ASSERT_EQ(future.wait_for(std::chrono::seconds(120)), std::future_status::ready);
    EXPECT_EQ(future.get().exit_code, 0);
    EXPECT_GE(sink->bytes + sink->lines, 300u << 20) << "every byte arrives (newlines excluded)";
    EXPECT_LE(sink->longest, 64u << 10);
  }
  int64_t growth_mb = (PeakRssKb() - before) / 1024;
  std::printf("peak RSS growth after 600 MB of output: %lld MB\n",
              static_cast<long long>(growth_mb));
  EXPECT_LT(growth_mb, 32);
}

// Records each batch it is handed, one OnLine being a batch of one.
class BatchRecordingSink : public workers::OutputSink {
 public:
  void OnLine(SystemTime, OutputStream, std::string_view line) override {
    std::lock_guard lock(mu_);
    batches.push_back({std::string(line)});
  }
  void OnLines(std::span<const workers::OutputLine> lines) override {
    std::lock_guard lock(mu_);
    batches.emplace_back();
    for (const auto& l : lines) batches.back().push_back(std::string(l.text));
  }
  std::mutex mu_;
  std::vector<std::vector<std::string>> batches;
};

// Runs `run` on `worker` to its end (60 s at most); the batches it was handed, and every line of
// them in order.
struct RecordedBatches {
  int exit_code = -1;
  std::vector<std::vector<std::string>> batches;
  std::vector<std::string> lines;
};
RecordedBatches RunRecordingBatches(workers::Worker& worker, const TaskRun& run) {
  auto sink = std::make_shared<BatchRecordingSink>();
  auto promise = std::make_shared<std::promise<TaskResult>>();
  auto future = promise->get_future();
  auto h = worker.RunTask(run, sink, [promise](TaskResult r) { promise->set_value(r); });
  RecordedBatches got;
  if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "the task did not end within 60 s";
    return got;
  }
  got.exit_code = future.get().exit_code;
  std::lock_guard lock(sink->mu_);
  got.batches = sink->batches;
  for (const auto& b : got.batches) got.lines.insert(got.lines.end(), b.begin(), b.end());
  return got;
}

// The line a read ends goes in that read's batch, not in a batch of its own before it (which
// made a one-line store event and chunk for nearly every read of W4).
TEST_F(WorkerFixture, ALineEndedByAReadArrivesInThatReadsBatch) {
  TaskRun run = ShellTask(
      "ended", "printf 'first\\nbefore hun'; sleep 0.05; printf 'ter2 after\\nnext\\n'", work_dir_);
  RecordedBatches got = RunRecordingBatches(*worker_, run);
  EXPECT_EQ(got.exit_code, 0);
  EXPECT_EQ(got.batches,
            (std::vector<std::vector<std::string>>{{"first"}, {"before hunter2 after", "next"}}));
}

TEST_F(WorkerFixture, FastOutputArrivesInBatchesWithEveryLineInOrder) {
  TaskRun run = ShellTask(
      "batches", "seq 1 100000; head -c 70000 /dev/zero | tr '\\0' x; echo; echo last", work_dir_);
  RecordedBatches got = RunRecordingBatches(*worker_, run);
  EXPECT_EQ(got.exit_code, 0);
  const std::vector<std::string>& lines = got.lines;
  ASSERT_EQ(lines.size(), 100000u + 3);
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(lines[i], std::to_string(i + 1)) << i;
  EXPECT_EQ(lines[100000], std::string(65536, 'x')) << "a long line is still split";
  EXPECT_EQ(lines[100001], std::string(70000 - 65536, 'x'));
  EXPECT_EQ(lines[100002], "last");
  EXPECT_LT(got.batches.size(), 100000u / 10) << "lines come many at a time, not one by one";
}

// A task that writes each line on its own (20,000 writes) is read in large pieces: its pipe
// holds 1 MiB and the pump pauses after a read that found little, instead of waking and handing
// over a batch for nearly every write (issue 16, W4).
TEST_F(WorkerFixture, OutputWrittenInSmallPiecesArrivesInFewBatches) {
  TaskRun run = ShellTask(
      "pieces", "awk 'BEGIN { for (i = 0; i < 20000; i++) { print i; fflush() } }'; echo last",
      work_dir_);
  RecordedBatches got = RunRecordingBatches(*worker_, run);
  EXPECT_EQ(got.exit_code, 0);
  const std::vector<std::string>& lines = got.lines;
  ASSERT_EQ(lines.size(), 20000u + 1);
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(lines[i], std::to_string(i)) << i;
  EXPECT_EQ(lines[20000], "last");
  std::printf("20,000 single-line writes arrived in %zu batches\n", got.batches.size());
  EXPECT_LT(got.batches.size(), 20000u / 100) << "many lines per batch, not a few";
}

TEST_F(WorkerFixture, StderrTailKeepsTheLastLines) {
  auto f = Sh("i=0; while [ $i -lt 2000 ]; do echo \"error line $i\" >&2; i=$((i+1)); done");
  EXPECT_LE(f.result.stderr_tail.size(), 4096u);
  EXPECT_EQ(f.result.stderr_tail.substr(f.result.stderr_tail.size() - 16), "error line 1999\n");
  EXPECT_EQ(f.result.stderr_tail.rfind("error line ", 0), 0u) << "starts at a line boundary";
}

TEST_F(WorkerFixture, CompletionCallbacksRunOnAWorkerThread) {
  auto promise = std::make_shared<std::promise<std::thread::id>>();
  auto h =
      worker_->RunTask(ShellTask("thread", "true", work_dir_), std::make_shared<RecordingSink>(),
                       [promise](TaskResult) { promise->set_value(std::this_thread::get_id()); });
  auto future = promise->get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST_F(WorkerFixture, DestroyingTheWorkerStopsRunningTasks) {
  auto s = Start(*worker_, Bash("long", "trap '' TERM; echo up; sleep 1000", work_dir_));
  ASSERT_TRUE(s.sink->WaitFor("up", std::chrono::seconds(30)));
  worker_.reset();
  ASSERT_EQ(s.result.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(s.result.get().exit_code, 128 + SIGKILL);
}

TEST_F(WorkerFixture, CacheDirsAreStablePerTaskAndPath) {
  std::string a = worker_->CacheDir("main/build/compile", "ccache");
  EXPECT_TRUE(fs::is_directory(a));
  EXPECT_EQ(worker_->CacheDir("main/build/compile", "ccache"), a);
  EXPECT_NE(worker_->CacheDir("main/build/compile", "node_modules"), a);
  EXPECT_NE(worker_->CacheDir("main/build/test", "ccache"), a);
  EXPECT_NE(worker_->CacheDir("a/b", "c"), worker_->CacheDir("a_b", "c")) << "no collisions";
  EXPECT_EQ(a.rfind(data_dir_ + "/worker/caches/", 0), 0u) << a;
}

TEST_F(WorkerFixture, AnUnknownResourceTypeIsAnError) {
  workers::ResourceRun run;
  run.id = "r1";
  run.type = "no-such-type";
  auto promise = std::make_shared<std::promise<workers::ResourceResult>>();
  auto future = promise->get_future();
  auto h = worker_->RunResource(run, std::make_shared<RecordingSink>(),
                                [promise](workers::ResourceResult r) { promise->set_value(r); });
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto r = future.get();
  EXPECT_FALSE(r.error.ok());
  EXPECT_NE(r.error.message().find("no-such-type"), std::string::npos);
}

TEST_F(WorkerFixture, ACustomResourceTypeRunsItsScriptInTheSandbox) {
  if (!fs::exists("/lib64/ld-linux-x86-64.so.2")) GTEST_SKIP() << "not x86-64 glibc";
  TempDir rootfs;
  CopyWithLibraries("/bin/sh", rootfs.path());  // dash: needs only libc
  WriteFile(rootfs / "opt/resource/check",
            "#!/bin/sh\nread -r request\necho \"checking\" >&2\n"
            "echo '[{\"ref\":\"v1\"},{\"ref\":\"v2\"}]'\n");
  fs::permissions(rootfs / "opt/resource/check", fs::perms::owner_all);
  workers::ResourceRun run;
  run.id = "check-custom";
  run.type = "my-type";
  run.custom_type_rootfs =
      workers::RootfsSpec{workers::RootfsSpec::Kind::kDirectory, rootfs.path().string()};
  run.source = {{"uri", "x"}};
  auto sink = std::make_shared<RecordingSink>();
  auto promise = std::make_shared<std::promise<workers::ResourceResult>>();
  auto future = promise->get_future();
  auto h = worker_->RunResource(run, sink,
                                [promise](workers::ResourceResult r) { promise->set_value(r); });
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto r = future.get();
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  ASSERT_EQ(r.versions.size(), 2u);
  EXPECT_EQ(r.versions[1]["ref"], "v2");
  EXPECT_NE(sink->Text(OutputStream::kStderr).find("checking"), std::string::npos);
}

class UnsafeWorker : public WorkerFixture {
 protected:
  void SetUp() override {
    unsafe_ = true;
    WorkerFixture::SetUp();
  }
};

TEST_F(UnsafeWorker, RunsTasksUnisolatedInTheWorkDirAndSaysSo) {
  EXPECT_EQ(worker_->isolation(), IsolationLevel::kNone);
  auto f = Sh("pwd; echo $$ > /dev/null; hostname");
  EXPECT_EQ(f.result.exit_code, 0);
  char host[256];
  gethostname(host, sizeof host);
  EXPECT_EQ(f.sink->Text(), work_dir_ + "\n" + host + "\n");
  EXPECT_NE(f.sink->Text(OutputStream::kSystem).find("without a sandbox"), std::string::npos);
}

TEST_F(UnsafeWorker, AbortKillsTheWholeTreeIncludingSetsidAndTermTrappingProcesses) {
  ExpectAbortKillsEverything(*worker_, work_dir_);
}

TEST_F(UnsafeWorker, AMissingExecutableIsStillAnError) {
  TaskRun run = ShellTask("missing", "", work_dir_);
  run.path = "./not-here";
  run.args.clear();
  auto f = RunAndWait(*worker_, run);
  EXPECT_FALSE(f.result.error.ok());
  EXPECT_NE(f.result.error.message().find("not-here"), std::string::npos);
}

TEST(LocalWorkerRefusal, WithoutPrivilegesTasksAreRefusedNamingTheUnsafeFlag) {
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::all);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // child: become nobody, then try
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
    workers::LocalWorkerOptions options;
    options.data_dir = (dir / "w").string();
    workers::LocalWorker worker(options);
    if (worker.isolation() != IsolationLevel::kNone) _exit(3);
    auto f = RunAndWait(worker, ShellTask("refused", "true", dir.path().string()));
    bool ok = !f.result.error.ok() &&
              f.result.error.message().find("--unsafe-no-sandbox") != std::string::npos &&
              f.result.error.message().find("root") != std::string::npos;
    _exit(ok ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: setuid failed, 3: isolation, 4: no refusal";
}

// The worker probes its sandbox on a thread of its own while its owner goes on; a task asked for
// at once waits for the probe's answer. Here the probe fails as root (no user namespace for an
// id range starting at 0): the task is refused with the worker's reason and never runs.
TEST(LocalWorkerRefusal, ATaskAskedForBeforeAFailingProbeAnsweredIsRefusedAndNeverRuns) {
  TempDir dir;
  workers::LocalWorkerOptions options;
  options.data_dir = (dir / "w").string();
  options.userns_host_id = 0;  // CreateUserNamespace refuses it: unprivileged tasks cannot run
  workers::LocalWorker worker(options);
  auto f = RunAndWait(worker, ShellTask("early", "touch ran", dir.path().string()));
  ASSERT_FALSE(f.result.error.ok());
  EXPECT_EQ(f.result.error.message(), worker.refusal_reason());
  EXPECT_NE(f.result.error.message().find("cannot sandbox tasks"), std::string::npos)
      << f.result.error.message();
  EXPECT_NE(f.result.error.message().find("--unsafe-no-sandbox"), std::string::npos);
  EXPECT_NE(f.result.error.message().find("user namespace range 0:"), std::string::npos)
      << "the probe's own reason: " << f.result.error.message();
  EXPECT_EQ(worker.isolation(), IsolationLevel::kNone);
  EXPECT_FALSE(fs::exists(dir / "ran")) << "the task ran although the sandbox was refused";
}

// A task asked for as the worker starts waits for the probe and then runs as sandboxed as any:
// in the tasks' user namespace (host ids 100000..), never as the host's root meanwhile.
TEST(LocalWorkerStart, ATaskAskedForAsTheWorkerStartsRunsFullySandboxed) {
  TempDir dir;
  workers::LocalWorkerOptions options;
  options.data_dir = (dir / "w").string();
  workers::LocalWorker worker(options);
  auto f = RunAndWait(worker, ShellTask("early", "cat /proc/self/uid_map", dir.path().string()));
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.result.exit_code, 0);
  std::istringstream map(f.sink->Text());
  uint32_t inside = 1, outside = 0, count = 0;
  map >> inside >> outside >> count;
  EXPECT_EQ(inside, 0u);
  EXPECT_EQ(outside, options.userns_host_id) << f.sink->Text();
  EXPECT_EQ(count, options.userns_size);
  EXPECT_EQ(worker.isolation(), IsolationLevel::kNamespaces);
}

// Workers started at once build and probe their sandboxes on threads of their own at the same
// time: every one must get its sandbox. (Each made its tasks' user namespace through a child
// holding it until a pipe closed; a child cloned just after another thread made its pipe held that
// pipe too, so two workers starting together could each hold the other's and wait for ever: CI's
// Masking tests hung so.)
TEST(LocalWorkerStart, WorkersStartedAtOnceAllGetTheirSandbox) {
  TempDir dir;
  std::atomic<bool> gave_up{false};
  auto rounds = std::async(std::launch::async, [&] {
    for (int round = 0; round < 40 && !gave_up; ++round) {
      std::vector<std::unique_ptr<workers::LocalWorker>> started;
      for (int i = 0; i < 4; ++i) {
        workers::LocalWorkerOptions options;
        options.data_dir = (dir / ("w" + std::to_string(i))).string();
        started.push_back(std::make_unique<workers::LocalWorker>(options));
      }
      for (auto& w : started) {
        EXPECT_EQ(w->isolation(), IsolationLevel::kNamespaces)
            << "round " << round << ": " << w->refusal_reason();
      }
    }
  });
  if (rounds.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    gave_up = true;
    ADD_FAILURE() << "workers started at once did not all answer their probe within 60 s";
    // Ends the children they wait for, so that the workers and this test can end.
    while (rounds.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      for (pid_t child : OwnChildren()) ::kill(child, SIGKILL);
    }
  }
  rounds.get();
}

}  // namespace
}  // namespace baton::testing
