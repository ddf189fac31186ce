// Redaction of loaded secrets and var_sources under the real `baton run`, beyond what the shared
// Concourse files exercise: what Concourse's credential tracking hides, and the errors for var
// sources Baton cannot read or does not know.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "baton/common/clock.h"
#include "baton/runner/sqlite_store.h"
#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

void ExpectRedacted(const std::string& text, const std::vector<std::string>& needles) {
  for (const auto& needle : needles) {
    EXPECT_EQ(text.find(needle), std::string::npos) << "unexpected \"" << needle << "\"\n" << text;
  }
}

void ExpectRedactionJob(const ProcessResult& r, const std::string& job, const std::string& status) {
  auto summary = ParseRunSummary(r.out);
  EXPECT_EQ(summary[job], status) << "job " << job << "\n" << r.All();
}

ProcessResult RunPipelineText(const TempDir& dir, const std::string& yaml,
                              std::vector<std::string> extra = {}) {
  fs::path file = dir / "pipeline.yml";
  WriteFile(file, yaml);
  std::vector<std::string> args{"run", "-c", file.string(), "--data-dir", (dir / "data").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunBaton(args);
}

TEST(ConcourseRedaction, ALoadedStringSecretIsRedactedInTaskOutputAndVersionLines) {
  TempDir dir;
  ProcessResult r = RunPipelineText(dir, R"Y(
resources:
- name: vault
  type: mock
  source: {create_files: {token: "s3cr3t-t0ken"}}
- name: out
  type: mock
jobs:
- name: job
  plan:
  - get: vault
  - load_var: token
    file: vault/token
  - load_var: shown
    file: vault/token
    reveal: true
  - task: use
    config:
      platform: linux
      run: {path: echo, args: ["token=((.:token))"]}
  - put: out
    params: {version: "v-((.:token))"}
)Y");
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("token=((redacted))"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pushing version: v-((redacted))"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"J(put out {"version":"v-((redacted))"})J"), std::string::npos) << r.out;
  ExpectRedacted(r.out, {"s3cr3t-t0ken"});
}

// A task's output reaches the log as runs of whole lines (issue 16): a secret the task wrote in
// two pieces, a read apart, is still redacted, on the console and in the stored log, and so
// are secrets on several lines of one write.
TEST(ConcourseRedaction, ASecretWrittenInTwoPiecesAndLinesOfOneRunAreRedacted) {
  TempDir dir;
  ProcessResult r = RunPipelineText(dir, R"Y(
resources:
- name: vault
  type: mock
  source: {create_files: {token: "s3cr3t-t0ken"}}
jobs:
- name: job
  plan:
  - get: vault
  - load_var: token
    file: vault/token
  - task: print
    params: {T: ((.:token))}
    config:
      platform: linux
      run:
        path: sh
        args:
        - -c
        - |
          printf 'before s3cr3t-'; sleep 0.2; printf 't0ken after\n'
          printf 'one %s\ntwo %s\nthree\n' "$T" "$T"
)Y");
  EXPECT_EQ(r.exit_code, 0) << r.All();
  for (const char* line :
       {"before ((redacted)) after\n", "one ((redacted))\n", "two ((redacted))\n", "three\n"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }
  ExpectRedacted(r.All(), {"s3cr3t", "t0ken"});

  auto store = runner::SqliteStore::OpenDataDir(dir / "data", RealClock());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto builds = (*store)->ListBuilds(runner::BuildQuery{});
  ASSERT_TRUE(builds.ok() && !builds->empty());
  std::string stored;
  auto events = (*store)->ReadEvents(builds->front().id, 0, 1000);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  for (const auto& e : *events) {
    if (e.type == "log") stored += e.payload + "\n";
  }
  EXPECT_NE(stored.find("before ((redacted)) after\none ((redacted))\ntwo ((redacted))\nthree\n"),
            std::string::npos)
      << stored;
  ExpectRedacted(stored, {"s3cr3t", "t0ken"});
}

TEST(ConcourseVarSources, AnUnknownTypeIsAValidationErrorNamingTheLine) {
  TempDir dir;
  ProcessResult r = RunPipelineText(dir, R"Y(var_sources:
- name: vs
  type: not-a-manager
  config: {}
jobs:
- name: job
  plan:
  - task: t
    config: {platform: linux, run: {path: echo, args: ["((vs:x))"]}}
)Y");
  EXPECT_NE(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("pipeline.yml:2:9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown credential manager type `not-a-manager`"), std::string::npos)
      << r.err;
}

TEST(ConcourseVarSources, AVarFromATypeBatonCannotReadErrorsTheStepNamingTheSource) {
  TempDir dir;
  ProcessResult r = RunPipelineText(dir, R"Y(var_sources:
- name: vs
  type: vault
  config: {url: "http://127.0.0.1:1"}
jobs:
- name: job
  plan:
  - task: t
    config: {platform: linux, run: {path: echo, args: ["((vs:x))"]}}
)Y");
  EXPECT_EQ(r.exit_code, 1) << r.All();
  ExpectRedactionJob(r, "job", "errored");
  EXPECT_NE(r.out.find("pipeline.yml:2:9: var source `vs` of type `vault` cannot be read"),
            std::string::npos)
      << r.out;
}

TEST(ConcourseVarSources, AnUndefinedVarOfADummySourceErrorsTheStep) {
  TempDir dir;
  ProcessResult r = RunPipelineText(dir, R"Y(var_sources:
- name: vs
  type: dummy
  config: {vars: {a: b}}
jobs:
- name: job
  plan:
  - task: t
    config: {platform: linux, run: {path: echo, args: ["((vs:missing))"]}}
)Y");
  EXPECT_EQ(r.exit_code, 1) << r.All();
  ExpectRedactionJob(r, "job", "errored");
  EXPECT_NE(r.out.find("undefined vars: vs:missing"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace baton::testing
