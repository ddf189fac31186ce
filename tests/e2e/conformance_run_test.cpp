// Concourse's own end-to-end fixtures (testflight/fixtures, integration/) run unchanged by the
// real `baton` binary. One test per file of ../shared/conformance/concourse/SOURCES.tsv whose
// `host_runnable` is `yes` or `yes-if-mock-emulated`; each turns the assertions of the matching
// concourse/concourse testflight/*_test.go into assertions on the exit code, the summary table
// and the log text. `fly trigger-job -j X` becomes `baton run -j X`; `fly check-resource -f
// version:V` / `newMockVersion` becomes a put of V to a mock resource with the same source in the
// same data dir; `fly set-pipeline` of a second file becomes `baton run -p <same name>`.
#include <signal.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

fs::path ConcourseDir() { return SharedDir() / "conformance" / "concourse"; }

// Files of SOURCES.tsv that run on a host (read at test time, files stay in place).
std::vector<std::string> RunnableFiles() {
  std::vector<std::string> files;
  std::ifstream tsv(ConcourseDir() / "SOURCES.tsv");
  std::string line;
  std::getline(tsv, line);  // header
  while (std::getline(tsv, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string col; std::getline(ss, col, '\t');) cols.push_back(col);
    if (cols.size() < 10) continue;
    if (cols[9] == "yes" || cols[9] == "yes-if-mock-emulated") files.push_back(cols[0]);
  }
  return files;
}

// Each needle must appear after the previous one (gbytes.Say semantics).
void ExpectInOrder(const std::string& text, const std::vector<std::string>& needles) {
  size_t at = 0;
  for (const auto& needle : needles) {
    size_t found = text.find(needle, at);
    EXPECT_NE(found, std::string::npos) << "missing (in order): \"" << needle << "\"\n" << text;
    if (found == std::string::npos) return;
    at = found + needle.size();
  }
}

void ExpectAbsent(const std::string& text, const std::vector<std::string>& needles) {
  for (const auto& needle : needles) {
    EXPECT_EQ(text.find(needle), std::string::npos) << "unexpected \"" << needle << "\"\n" << text;
  }
}

// One conformance case: a data dir of its own and ways to run baton on it.
class Case {
 public:
  explicit Case(std::string file) : file_(std::move(file)) {}

  fs::path File() const { return ConcourseDir() / file_; }
  fs::path Other(const std::string& name) const { return ConcourseDir() / name; }
  fs::path DataDir() const { return dir_ / "data"; }
  const TempDir& dir() const { return dir_; }

  std::vector<std::string> RunArgs(const fs::path& file, std::vector<std::string> extra) const {
    std::vector<std::string> args{"run", "-c", file.string(), "--data-dir", DataDir().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  ProcessResult Run(std::vector<std::string> extra = {}) const {
    return RunBaton(RunArgs(File(), std::move(extra)));
  }
  ProcessResult RunFile(const fs::path& file, std::vector<std::string> extra = {}) const {
    return RunBaton(RunArgs(file, std::move(extra)));
  }

  // Like testflight's newMockVersion: a put of `version` to a mock resource whose source is
  // `source_json` (the exact interpolated source of the resource under test) in the same data
  // dir, so the next check of that resource finds it.
  void NewMockVersion(const std::string& source_json, const std::string& version) {
    fs::path file = dir_ / ("new-version-" + std::to_string(++helpers_) + ".yml");
    WriteFile(file, "resources:\n- name: r\n  type: mock\n  source: " + source_json +
                        "\njobs:\n- name: new-mock-version\n  plan:\n  - put: r\n"
                        "    params: {version: \"" +
                        version + "\"}\n");
    ProcessResult r = RunFile(file, {"-p", "new-mock-version"});
    ASSERT_EQ(r.exit_code, 0) << r.All();
  }

 private:
  std::string file_;
  TempDir dir_;
  int helpers_ = 0;
};

using Check = std::function<void(Case&)>;

void ExpectJob(const ProcessResult& r, const std::string& job, const std::string& status) {
  auto summary = ParseRunSummary(r.out);
  EXPECT_EQ(summary[job], status) << "job " << job << "\n" << r.All();
}

// ---- hooks_test.go ----------------------------------------------------------------------

void HooksAbsent(const std::string& out, const std::string& who,
                 const std::vector<std::string>& kinds) {
  for (const auto& kind : kinds) {
    ExpectAbsent(out, {who + " job on " + kind, who + " job on job " + kind});
  }
}

void CheckHooks(Case& c) {
  ProcessResult pass = c.Run({"-j", "some-passing-job"});
  EXPECT_EQ(pass.exit_code, 0) << pass.All();
  ExpectInOrder(pass.out, {"passing job on success", "passing job ensure",
                           "passing job on job success", "passing job on job ensure"});
  HooksAbsent(pass.out, "passing", {"failure", "abort", "error"});

  ProcessResult fail = c.Run({"-j", "some-failing-job"});
  EXPECT_EQ(fail.exit_code, 1) << fail.All();
  ExpectJob(fail, "some-failing-job", "failed");
  ExpectInOrder(fail.out, {"failing job on failure", "failing job ensure",
                           "failing job on job failure", "failing job on job ensure"});
  HooksAbsent(fail.out, "failing", {"success", "abort", "error"});

  // fly abort-build becomes Ctrl-C to `baton run`.
  ChildProcess abort({BatonBinary().string(), "run", "-c", c.File().string(), "--data-dir",
                      c.DataDir().string(), "-j", "some-aborted-job"});
  ASSERT_TRUE(abort.WaitForOutput("waiting to be aborted", seconds(60))) << abort.out();
  abort.Signal(SIGINT);
  ProcessResult aborted = abort.Wait();
  EXPECT_EQ(aborted.exit_code, 3) << aborted.All();
  ExpectJob(aborted, "some-aborted-job", "aborted");
  ExpectInOrder(aborted.out, {"aborted job on abort", "aborted job ensure",
                              "aborted job on job abort", "aborted job on job ensure"});
  HooksAbsent(aborted.out, "aborted", {"success", "failure", "error"});

  ProcessResult error = c.Run({"-j", "some-errored-job"});
  EXPECT_EQ(error.exit_code, 1) << error.All();
  ExpectJob(error, "some-errored-job", "errored");
  ExpectInOrder(error.out, {"errored job on error", "errored job ensure",
                            "errored job on job error", "errored job on job ensure"});
  HooksAbsent(error.out, "errored", {"success", "failure", "abort"});
}

// ---- across_test.go ---------------------------------------------------------------------

void CheckAcross(Case& c) {
  ProcessResult r = c.Run({"-j", "job"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  // across_test.go, line for line. The values stay in clear even though load_var has no
  // `reveal: true`: Concourse tracks a local var for redaction only when it is a string (or a
  // map of strings) and this one is a list, and across values are public by design
  // (atc/exec/across_step.go adds them with redact=false).
  ExpectInOrder(r.out, {"running across static1 dynamic1", "running across static1 dynamic2",
                        "running across static1 dynamic3", "running across static1 4",
                        "running across static2 dynamic1", "running across static2 dynamic2",
                        "running across static2 dynamic3", "running across static2 4"});
  ExpectInOrder(r.out, {"pushing version: v_dynamic1", "fetching version: v_dynamic1",
                        "pushing version: v_dynamic2", "fetching version: v_dynamic2",
                        "pushing version: v_dynamic3", "fetching version: v_dynamic3",
                        "pushing version: v_4", "fetching version: v_4"});
  EXPECT_EQ(CountOccurrences(r.out, "running across "), 8u) << r.out;
  ExpectAbsent(r.out, {"((redacted))"});
}

// ---- the simple status fixtures ---------------------------------------------------------

void CheckErroringPipeline(Case& c) {
  ProcessResult r = c.Run({"-j", "across-step"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  ExpectJob(r, "across-step", "errored");
  ExpectInOrder(r.out, {"initializing", "bad-path"});
}

void CheckFail(Case& c) {
  ProcessResult r = c.Run({"-j", "failing-job"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  ExpectInOrder(r.out, {"initializing", "failed"});
  ExpectJob(r, "failing-job", "failed");
}

void CheckDo(Case& c) {
  ProcessResult r = c.Run({"-j", "do-job"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"running do step 1", "running do step 2", "running do step 3"});
}

void CheckTry(Case& c) {
  ProcessResult r = c.Run({"-j", "try-job"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"initializing", "passing-task succeeded"});
  ExpectJob(r, "try-job", "succeeded");
}

void CheckRetry(Case& c) {
  ProcessResult r = c.Run({"-j", "retry-job"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"initializing", "attempts: 1; failing", "attempts: 2; failing",
                        "attempts: 3; success!"});
  EXPECT_EQ(CountOccurrences(r.out, "attempts: "), 3u) << r.out;
  ExpectJob(r, "retry-job", "succeeded");
  // The hijack half (fly intercept --attempt) has no local equivalent; its build fails.
  ProcessResult h = c.Run({"-j", "retry-job-fail-for-hijacking"});
  EXPECT_EQ(h.exit_code, 1) << h.All();
  ExpectJob(h, "retry-job-fail-for-hijacking", "failed");
}

void CheckTimeout(Case& c) {
  ProcessResult r = c.Run({"-j", "duration-successful-job", "-j", "duration-fail-job"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  ExpectJob(r, "duration-successful-job", "succeeded");
  ExpectJob(r, "duration-fail-job", "errored");  // a timeout errors, it does not fail
  ExpectInOrder(
      r.out, {"duration-successful-job #1/passing-task | initializing", "passing-task succeeded"});
  ExpectInOrder(r.out, {"duration-fail-job #1/timeout-task | initializing", "timeout exceeded"});
}

void CheckTaskOutputs(Case& c) {
  ProcessResult r = c.Run({"-j", "some-job"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"initializing"});
  EXPECT_NE(r.out.find("./output-1/file-1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("./output-2/file-2"), std::string::npos) << r.out;
}

void CheckOptionalInputs(Case& c) {
  ProcessResult r = c.Run({"-j", "job-using-optional-inputs"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"step 1 complete", "step 2 complete", "step 3 complete", "SUCCESS"});
}

void CheckContainerLimits(Case& c) {
  ProcessResult r = c.Run({"-j", "container-limits-job"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"initializing", "hello"});
}

void CheckSimple(Case& c) {
  ProcessResult r = c.Run();
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"initializing", "Hello, world!"});
  ExpectJob(r, "simple", "succeeded");
}

void CheckTaskMissingOutputs(Case& c) {
  ProcessResult r = c.Run();
  EXPECT_EQ(r.exit_code, 1) << r.All();
  ExpectJob(r, "missing-outputs-job", "errored");
  ExpectInOrder(r.out, {"input-deprived", "missing-outputs"});
}

void CheckMatrix(Case& c) {
  ProcessResult r = c.Run({"-j", "fancy-build-matrix", "-v", "initial_version=iv-4711"});
  EXPECT_EQ(r.exit_code, 1) << r.All();  // expect failure
  ExpectInOrder(r.out,
                {"passing-unit-1/file passing-unit-2/file iv-4711", "failed in_parallel iv-4711"});
}

// ---- checks that need versions: newMockVersion emulated by a put ------------------------

void CheckSimpleTrigger(Case& c) {
  const std::string source = R"({"no_initial_version": true, "initial_version": "hash-st"})";
  c.NewMockVersion(source, "first-version");
  ProcessResult first = c.Run({"-v", "hash=hash-st"});
  EXPECT_EQ(first.exit_code, 0) << first.All();
  ExpectInOrder(first.out, {"some-passing-job #1/print-version | first-version"});
  c.NewMockVersion(source, "second-version");
  ProcessResult second = c.Run({"-v", "hash=hash-st"});
  EXPECT_EQ(second.exit_code, 0) << second.All();
  ExpectInOrder(second.out, {"some-passing-job #2/print-version | second-version"});
}

const char* kEverySource = R"({"no_initial_version": true, "initial_version": "hash-rv"})";

void CheckResourceVersionEvery(Case& c) {
  c.NewMockVersion(kEverySource, "guid1");
  ProcessResult r = c.Run({"-j", "some-passing-job", "-v", "hash=hash-rv"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"print-version | guid1"});
  for (const char* v : {"guid2", "guid3", "guid4"}) c.NewMockVersion(kEverySource, v);
  for (const char* v : {"guid2", "guid3", "guid4"}) {
    r = c.Run({"-j", "some-passing-job", "-v", "hash=hash-rv"});
    EXPECT_EQ(r.exit_code, 0) << r.All();
    ExpectInOrder(r.out, {std::string("print-version | ") + v});
  }
}

void CheckPinnedVersion(Case& c) {
  // resource_version_test.go "version: pinned": every first, then the pinned config.
  fs::path every = c.Other("cc__testflight__resource-version-every.yml");
  c.NewMockVersion(kEverySource, "guid1");
  ProcessResult r = c.RunFile(every, {"-p", "pinned", "-v", "hash=hash-rv"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"print-version | guid1"});
  for (const char* v : {"guid2", "guid3", "guid4"}) c.NewMockVersion(kEverySource, v);
  r = c.Run({"-p", "pinned", "-v", "hash=hash-rv", "-v", "pinned_version=guid3"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"some-passing-job #2/print-version | guid3"});
  ExpectAbsent(r.out, {"| guid2", "| guid4"});
}

void CheckManyInputs(Case& c) {
  c.NewMockVersion(R"({"no_initial_version": true, "initial_version": "hash-a"})", "first-a");
  c.NewMockVersion(R"({"no_initial_version": true, "initial_version": "hash-b"})", "first-b");
  ProcessResult r = c.Run({"-j", "some-job", "-v", "hash-1=hash-a", "-v", "hash-2=hash-b"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"initializing", "a has first-a", "b has first-b"});
  ExpectJob(r, "some-job", "succeeded");
  // `fly execute --inputs-from` has no local equivalent; the overridden-input half does.
  fs::path task = c.dir() / "task.yml";
  WriteFile(task,
            "platform: linux\ninputs:\n- name: some-resource-a\n- name: some-resource-b\n"
            "run:\n  path: sh\n  args: [-c, 'echo a has $(cat some-resource-a/version); "
            "echo b has $(cat some-resource-b/version)']\n");
  WriteFile(c.dir() / "a" / "version", "first-a\n");
  WriteFile(c.dir() / "b" / "version", "some-overridden-version\n");
  ProcessResult e = RunBaton({"execute", "-c", task.string(), "--data-dir", c.DataDir().string(),
                              "-i", "some-resource-a=" + (c.dir() / "a").string(), "-i",
                              "some-resource-b=" + (c.dir() / "b").string()});
  EXPECT_EQ(e.exit_code, 0) << e.All();
  ExpectInOrder(e.out, {"a has first-a", "b has some-overridden-version"});
}

void CheckInputMapping(Case& c) {
  const std::string content = "platform: linux\\n";
  const std::string source =
      R"({"no_initial_version": true, "create_files": {"task.yml": ")" + content + R"("}})";
  std::vector<std::string> vars{"-v", "task_content=platform: linux\n"};
  c.NewMockVersion(source, "first-version");
  std::vector<std::string> both{"-j", "upstream-job", "-j", "downstream-job"};
  both.insert(both.end(), vars.begin(), vars.end());
  ProcessResult r = c.Run(both);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  // The version each get had (the put's implicit get fetched it: the gets are answered from the
  // resource caches, without a "fetching version" line, as Concourse's caching_test.go expects).
  const std::string got = R"( | get some-resource {"version":")";
  ExpectInOrder(r.out, {"upstream-job #1/some-resource" + got + "first-version\"}"});
  ExpectInOrder(r.out, {"downstream-job #1/some-resource" + got + "first-version\"}"});
  // A newer version that has not passed upstream-job does not reach downstream-job.
  c.NewMockVersion(source, "second-version");
  std::vector<std::string> down{"-j", "downstream-job"};
  down.insert(down.end(), vars.begin(), vars.end());
  r = c.Run(down);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"downstream-job #2/some-resource" + got + "first-version\"}"});
  r = c.Run(both);
  ExpectInOrder(r.out, {"downstream-job #3/some-resource" + got + "second-version\"}"});
}

void CheckSerialGroups(Case& c) {
  ProcessResult r = c.Run({"-v", "hash=hash-sg"});
  // some-pending-job has no version of pending-resource: it stays pending (skipped in a local
  // run) and does not block some-passing-job of the same serial group.
  EXPECT_EQ(r.exit_code, 1) << r.All();
  ExpectJob(r, "some-passing-job", "succeeded");
  ExpectJob(r, "some-pending-job", "skipped");
  ExpectJob(r, "serial-true-job", "succeeded");
  EXPECT_NE(r.out.find("no versions of `pending-resource`"), std::string::npos) << r.out;
}

void CheckTaskCaches(Case& c) {
  ProcessResult r = c.Run({"-j", "simple"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"| not-cached-from-first-task", "| not-cached-from-second-task",
                        "| blob-contents-from-second-task", "| second-task-cache-contents"});
  ExpectAbsent(r.out, {"blob-contents-from-first-task"});
  for (const char* line : {"| not-cached-from-first-task", "| not-cached-from-second-task",
                           "| blob-contents-from-second-task", "| second-task-cache-contents"}) {
    EXPECT_EQ(CountOccurrences(r.out, line), 1u) << line << "\n" << r.out;
  }
  ProcessResult again = c.Run({"-j", "simple"});
  EXPECT_EQ(again.exit_code, 0) << again.All();
  ExpectAbsent(again.out, {"blob-contents-from-first-task"});
  EXPECT_EQ(CountOccurrences(again.out, "| not-cached-from-first-task"), 1u) << again.out;
  EXPECT_EQ(CountOccurrences(again.out, "| not-cached-from-second-task"), 1u) << again.out;
  EXPECT_EQ(CountOccurrences(again.out, "| blob-contents-from-second-task"), 2u) << again.out;
  EXPECT_EQ(CountOccurrences(again.out, "| second-task-cache-contents"), 2u) << again.out;
}

// ---- resources, puts and custom types ---------------------------------------------------

void CheckInputsOutputs(Case& c) {
  ProcessResult r = c.Run();
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectJob(r, "pushing-job", "succeeded");
  ExpectJob(r, "downstream-job", "succeeded");
  ExpectInOrder(
      r.out, {"pushing version: first-version", "downstream-job #1/print-version | first-version"});
  ExpectAbsent(r.All(), {"cannot record"});
}

void CheckSmokePipeline(Case& c) {
  ProcessResult r = c.Run({"-j", "say-hello"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"fetching version: mock", "Hello, world!", "pushing version: put-version"});
  ExpectAbsent(r.All(), {"cannot record"});
}

void CheckPutInputs(Case& c) {
  // Each job's put is followed by a task that exits 1. The assertions on what the put container
  // sees need `fly intercept`, which a local run does not have.
  // A put without params.version pushes the empty version, as concourse/mock-resource does, so
  // every job reaches its failing task.
  ProcessResult r = c.Run();
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_EQ(CountOccurrences(r.out, "failing-task | initializing"), 6u) << r.out;
  for (const char* job : {"job-using-specified-inputs", "job-using-all-inputs",
                          "job-using-empty-inputs", "job-using-no-inputs",
                          "job-using-detect-inputs-simple", "job-using-detect-inputs-complex"}) {
    ExpectJob(r, job, "failed");
  }
}

void CheckResourceTypes(Case& c) {
  ProcessResult get = c.Run({"-j", "resource-getter", "-v", "hash=hash-rt"});
  ExpectInOrder(get.out, {"resource-getter #1/my-resource | fetching version: hash-rt"});
  ProcessResult put = c.Run({"-j", "resource-putter", "-v", "hash=hash-rt"});
  EXPECT_EQ(put.exit_code, 0) << put.All();
  ExpectInOrder(put.out, {"pushing version: some-pushed-version"});
  ProcessResult image = c.Run({"-j", "resource-image-resourcer", "-v", "hash=hash-rt"});
  ProcessResult imager = c.Run({"-j", "resource-imager", "-v", "hash=hash-rt"});
  EXPECT_EQ(get.exit_code, 0) << get.All();
  ExpectInOrder(get.out, {"fetched version: hash-rt"});
  EXPECT_EQ(image.exit_code, 0) << image.All();
  ExpectInOrder(image.out, {"MIRRORED_VERSION=image-version"});
  EXPECT_EQ(imager.exit_code, 0) << imager.All();
  ExpectInOrder(imager.out, {"MIRRORED_VERSION=mock"});
}

void CheckNestedConfig(Case& c) {
  ProcessResult r = c.Run({"-j", "config-test"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectJob(r, "config-test", "succeeded");
  ExpectInOrder(r.out, {"config-test #1/resource-with-custom-type | get: resource-with-custom-type",
                        "config-test #1/test-nested-params | "});
}

// ---- vars ---------------------------------------------------------------------------------

void CheckLoadVarStep(Case& c) {
  ProcessResult r = c.Run({"-j", "use-var"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectJob(r, "use-var", "succeeded");
}

void CheckVarSources(Case& c) {
  ProcessResult r = c.Run({"-j", "use-vars"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectJob(r, "use-vars", "succeeded");
  // Credential vars are redacted where they show (the task runs `sh -x`), like Concourse.
  EXPECT_NE(r.out.find("test ((redacted)) = ((redacted))"), std::string::npos) << r.out;
  ExpectAbsent(r.out, {"hello-im-a-var", "some-value"});
}

void CheckVarsFile(Case& c) {
  // fly's vars fixture (resource-type, resource-key) loaded with -l into a pipeline.
  fs::path pipeline = c.dir() / "uses-vars.yml";
  WriteFile(pipeline,
            "jobs:\n- name: show\n  plan:\n  - task: show\n    config:\n      platform: linux\n"
            "      run: {path: echo, args: ['type=((resource-type)) key=((resource-key))']}\n");
  ProcessResult r = c.RunFile(pipeline, {"-l", c.File().string()});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"type=template-type key=secret"});
}

void CheckSetPipeline(Case& c) {
  // Documented: set_pipeline needs a server; a local run says so and errors the step.
  ProcessResult r = c.Run({"-v", "pipeline_name=child", "-v", "team_name=main"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  ExpectJob(r, "sp", "errored");
  ExpectJob(r, "sp-with-instance-vars", "errored");
  EXPECT_NE(r.out.find("set_pipeline is not supported in a local run"), std::string::npos) << r.out;
}

void CheckHelloTask(Case& c) {
  ProcessResult r =
      RunBaton({"execute", "-c", c.File().string(), "--data-dir", c.DataDir().string()});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  ExpectInOrder(r.out, {"hello"});
}

const std::map<std::string, Check>& Checks() {
  static const auto* checks = new std::map<std::string, Check>{
      {"cc__flyfix__vars.yml", CheckVarsFile},
      {"cc__integration__ops__pipelines__smoke-pipeline.yml", CheckSmokePipeline},
      {"cc__integration__tasks__hello.yml", CheckHelloTask},
      {"cc__testflight__across.yml", CheckAcross},
      {"cc__testflight__container_limits.yml", CheckContainerLimits},
      {"cc__testflight__do.yml", CheckDo},
      {"cc__testflight__erroring_pipeline.yml", CheckErroringPipeline},
      {"cc__testflight__fail.yml", CheckFail},
      {"cc__testflight__hooks.yml", CheckHooks},
      {"cc__testflight__input-mapping-test.yml", CheckInputMapping},
      {"cc__testflight__inputs_outputs.yml", CheckInputsOutputs},
      {"cc__testflight__load-var-step.yml", CheckLoadVarStep},
      {"cc__testflight__many-inputs.yml", CheckManyInputs},
      {"cc__testflight__matrix.yml", CheckMatrix},
      {"cc__testflight__nested-config-test.yml", CheckNestedConfig},
      {"cc__testflight__optional-inputs.yml", CheckOptionalInputs},
      {"cc__testflight__pinned-version.yml", CheckPinnedVersion},
      {"cc__testflight__put-inputs.yml", CheckPutInputs},
      {"cc__testflight__resource-types.yml", CheckResourceTypes},
      {"cc__testflight__resource-version-every.yml", CheckResourceVersionEvery},
      {"cc__testflight__retry.yml", CheckRetry},
      {"cc__testflight__serial-groups.yml", CheckSerialGroups},
      {"cc__testflight__set-pipeline.yml", CheckSetPipeline},
      {"cc__testflight__simple-trigger.yml", CheckSimpleTrigger},
      {"cc__testflight__simple.yml", CheckSimple},
      {"cc__testflight__task-caches.yml", CheckTaskCaches},
      {"cc__testflight__task-missing-outputs.yml", CheckTaskMissingOutputs},
      {"cc__testflight__task-outputs.yml", CheckTaskOutputs},
      {"cc__testflight__timeout.yml", CheckTimeout},
      {"cc__testflight__try.yml", CheckTry},
      {"cc__testflight__var-sources.yml", CheckVarSources},
  };
  return *checks;
}

class ConcourseConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(ConcourseConformance, RunsAsConcourseTestflightExpects) {
  auto it = Checks().find(GetParam());
  ASSERT_NE(it, Checks().end()) << "no expectations written for runnable file " << GetParam();
  Case c(GetParam());
  it->second(c);
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.rfind('.'));
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(SharedFiles, ConcourseConformance, ::testing::ValuesIn(RunnableFiles()),
                         CaseName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ConcourseConformance);

TEST(ConcourseConformanceTable, FindsTheRunnableFilesOfTheSharedData) {
  EXPECT_GE(RunnableFiles().size(), 30u) << "SOURCES.tsv in " << ConcourseDir();
}

}  // namespace
}  // namespace baton::testing
