// End to end: a real `baton quickstart` (port 0, SQLite, sandboxed tasks) driven by the real
// `baton` client commands and by HTTP, with git repositories made by the test.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fakes/git_fixture.h"
#include "fakes/server_process.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// A pipeline with one git resource at `repo` (branch main) and the given jobs (YAML text).
std::string GitPipeline(const std::filesystem::path& repo, const std::string& jobs) {
  return "resources:\n"
         "- name: repo\n"
         "  type: git\n"
         "  check_every: 1h\n"
         "  webhook_token: s3cret\n"
         "  source: {uri: " +
         repo.string() +
         ", branch: main}\n"
         "jobs:\n" +
         jobs;
}

// A job that runs `script` (sh -c) with nothing in.
std::string ShellJob(const std::string& name, const std::string& script) {
  return "- name: " + name +
         "\n"
         "  plan:\n"
         "  - task: run\n"
         "    config:\n"
         "      platform: linux\n"
         "      run: {path: sh, args: [-c, '" +
         script + "']}\n";
}

// glibc's malloc heaps beside the main one (each arena's but the main's) in /proc/PID/maps: an
// anonymous region of exactly 64 MiB of address space (HEAP_MAX_SIZE on 64-bit) aligned to it,
// the part in use read-write and the rest reserved. Thread stacks are 8 MiB and a guard page.
int MallocHeaps(pid_t pid) {
  constexpr unsigned long kHeap = 64ul << 20;
  std::istringstream maps(ReadFile("/proc/" + std::to_string(pid) + "/maps"));
  int heaps = 0;
  bool open = false;  // following an anonymous region from `start` to `end`
  unsigned long start = 0, end = 0;
  for (std::string line; std::getline(maps, line);) {
    unsigned long from = 0, to = 0;
    char path[2] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %*s %*s %*s %*s %1s", &from, &to, path) < 2) continue;
    if (path[0] != 0) {  // a file, [heap], [stack]
      open = false;
      continue;
    }
    if (open && from == end && from % kHeap != 0) {
      end = to;  // the reserved rest of a heap follows its used part
    } else {
      open = true;
      start = from;
      end = to;
    }
    if (start % kHeap == 0 && end - start == kHeap) {
      ++heaps;
      open = false;
    }
  }
  return heaps;
}

// The environment `pid` was executed with (what /proc/<pid>/environ holds), one entry per string.
std::vector<std::string> ExecutedEnvironment(pid_t pid) {
  const std::string text = ReadFile("/proc/" + std::to_string(pid) + "/environ");
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\0', at);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// The value of `name` in `env` ("" and false when it is not there).
bool EnvValue(const std::vector<std::string>& env, const std::string& name, std::string& value) {
  for (const std::string& entry : env) {
    if (entry.rfind(name + "=", 0) == 0) {
      value = entry.substr(name.size() + 1);
      return true;
    }
  }
  value.clear();
  return false;
}

// The children of `pid` that executed a program of their own (the server's network helper,
// slirp4netns): a child it cloned without executing (a spare sandbox) shows in
// /proc/<child>/environ the environment the server itself was executed with.
std::vector<pid_t> ExecutedChildren(pid_t pid) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  std::vector<pid_t> out;
  for (pid_t child : ChildrenOf(pid)) {
    std::error_code child_ec;
    auto child_exe =
        std::filesystem::read_symlink("/proc/" + std::to_string(child) + "/exe", child_ec);
    if (!child_ec && child_exe != exe) out.push_back(child);
  }
  return out;
}

class ServerE2E : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.started()) << server_.log(); }
  // Writes `yaml` and sets it as `pipeline` with `baton set-pipeline -n`.
  CliResult SetPipeline(const std::string& pipeline, const std::string& yaml) {
    auto file = files_ / (pipeline + ".yml");
    WriteFile(file, yaml);
    return server_.Cli({"set-pipeline", "-n", "-p", pipeline, "-c", file.string()});
  }
  int64_t Trigger(const std::string& pipeline, const std::string& job) {
    ApiReply r = server_.Api(
        "POST", "/api/v1/teams/main/pipelines/" + pipeline + "/jobs/" + job + "/builds");
    EXPECT_EQ(r.status, 201) << r.text;
    return r.json.is_object() ? r.json.value("id", int64_t{0}) : 0;
  }
  json Build(int64_t id) { return server_.Get("/api/v1/builds/" + std::to_string(id)); }

  ServerProcess server_;
  TempDir files_;
};

TEST_F(ServerE2E, SetPipelineRunsTheFirstBuildByItselfAndWatchShowsItsLog) {
  GitFixtureRepo repo(files_ / "repo");
  repo.Commit({{"msg.txt", "first commit"}}, "first");
  std::string yaml = GitPipeline(repo.path(),
                                 "- name: hello\n"
                                 "  plan:\n"
                                 "  - get: repo\n"
                                 "    trigger: true\n"
                                 "  - task: say\n"
                                 "    config:\n"
                                 "      platform: linux\n"
                                 "      inputs: [{name: repo}]\n"
                                 "      run: {path: sh, args: [-c, 'echo hello from "
                                 "$(cat repo/msg.txt); echo to-stderr >&2']}\n");
  CliResult set = SetPipeline("demo", yaml);
  ASSERT_EQ(set.exit_code, 0) << set.All();
  EXPECT_NE(set.out.find("creating pipeline `demo`"), std::string::npos) << set.out;
  EXPECT_NE(set.out.find("+ - name: hello"), std::string::npos) << set.out;

  json builds = server_.WaitForFinishedBuilds("demo", "hello", 1);
  ASSERT_EQ(builds.size(), 1u) << server_.log();
  CliResult watch = server_.Cli({"watch", "-j", "demo/hello"});
  EXPECT_EQ(watch.exit_code, 0) << watch.All();
  EXPECT_NE(watch.out.find("task: say"), std::string::npos) << watch.out;
  EXPECT_NE(watch.out.find("hello from first commit"), std::string::npos) << watch.out;
  EXPECT_NE(watch.err.find("to-stderr"), std::string::npos) << watch.err;
  EXPECT_NE(watch.out.find("demo/hello #1 succeeded"), std::string::npos) << watch.out;

  CliResult list = server_.Cli({"builds", "-j", "demo/hello"});
  EXPECT_EQ(list.exit_code, 0) << list.All();
  EXPECT_NE(list.out.find("demo/hello"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("succeeded"), std::string::npos) << list.out;
  CliResult pipelines = server_.Cli({"pipelines", "--json"});
  ASSERT_EQ(pipelines.exit_code, 0) << pipelines.All();
  json parsed = json::parse(pipelines.out, nullptr, false);
  ASSERT_TRUE(parsed.is_array()) << pipelines.out;
  EXPECT_EQ(parsed[0].value("name", ""), "demo");
  CliResult get = server_.Cli({"get-pipeline", "-p", "demo"});
  EXPECT_EQ(get.out, yaml);
}

TEST_F(ServerE2E, SetPipelineShowsWhatChangesAndSaysWhenNothingDoes) {
  ASSERT_EQ(SetPipeline("p", "jobs:\n" + ShellJob("a", "echo one")).exit_code, 0);
  CliResult same = SetPipeline("p", "jobs:\n" + ShellJob("a", "echo one"));
  EXPECT_EQ(same.exit_code, 0);
  EXPECT_NE(same.out.find("no changes to apply"), std::string::npos) << same.out;

  CliResult changed = SetPipeline("p", "jobs:\n" + ShellJob("a", "echo two"));
  ASSERT_EQ(changed.exit_code, 0) << changed.All();
  EXPECT_NE(changed.out.find("- "
                             "      run: {path: sh, args: [-c, 'echo one']}"),
            std::string::npos)
      << changed.out;
  EXPECT_NE(changed.out.find("+ "
                             "      run: {path: sh, args: [-c, 'echo two']}"),
            std::string::npos)
      << changed.out;
  EXPECT_NE(changed.out.find("config version 2"), std::string::npos) << changed.out;
  // The same line is not shown as changed.
  EXPECT_EQ(changed.out.find("- - name: a"), std::string::npos) << changed.out;
}

TEST_F(ServerE2E, SetPipelineRejectsAnInvalidFileLocallyWithTheDiagnostics) {
  CliResult bad = SetPipeline("p", "jobs:\n- name: a\n  plan:\n  - get: nowhere\n");
  EXPECT_EQ(bad.exit_code, 1) << bad.All();
  EXPECT_NE(bad.err.find("nowhere"), std::string::npos) << bad.err;
  EXPECT_EQ(server_.Api("GET", "/api/v1/teams/main/pipelines/p").status, 404);
}

TEST_F(ServerE2E, AConcurrentChangeIsRefusedWithAConflict) {
  ASSERT_EQ(SetPipeline("p", "jobs:\n" + ShellJob("a", "echo one")).exit_code, 0);
  json body = {{"config", "jobs:\n" + ShellJob("a", "echo two")}, {"expected_version", 0}};
  ApiReply stale = server_.Api("PUT", "/api/v1/teams/main/pipelines/p/config", body.dump());
  EXPECT_EQ(stale.status, 409) << stale.text;
  EXPECT_NE(stale.text.find("changed by someone else"), std::string::npos) << stale.text;
}

TEST_F(ServerE2E, TriggerJobWatchExitsWithTheBuildsOutcome) {
  std::string jobs = ShellJob("ok", "echo all good") +
                     ShellJob("broken", "echo about to fail; exit 3") +
                     ShellJob("slow", "echo begin; sleep 60");
  ASSERT_EQ(SetPipeline("p", "jobs:\n" + jobs).exit_code, 0);

  CliResult ok = server_.Cli({"trigger-job", "-w", "-j", "p/ok"});
  EXPECT_EQ(ok.exit_code, 0) << ok.All();
  EXPECT_NE(ok.out.find("all good"), std::string::npos) << ok.out;
  CliResult broken = server_.Cli({"trigger-job", "-w", "-j", "p/broken"});
  EXPECT_EQ(broken.exit_code, 1) << broken.All();
  EXPECT_NE(broken.out.find("failed (exit 3)"), std::string::npos) << broken.out;

  int64_t id = Trigger("p", "slow");
  auto watch = server_.StartCli({"watch", "-b", std::to_string(id)});
  ASSERT_TRUE(watch->WaitForOutput("begin", seconds(60))) << watch->out() << watch->err();
  CliResult abort = server_.Cli({"abort-build", "-b", std::to_string(id)});
  EXPECT_EQ(abort.exit_code, 0) << abort.All();
  CliResult watched = watch->Wait();
  EXPECT_EQ(watched.exit_code, 3) << watched.All();
  EXPECT_NE(watched.out.find("aborted"), std::string::npos) << watched.out;
}

TEST_F(ServerE2E, CtrlCDetachesFromWatchWithoutAbortingTheBuild) {
  ASSERT_EQ(SetPipeline("p", "jobs:\n" + ShellJob("slow", "echo begin; sleep 60")).exit_code, 0);
  int64_t id = Trigger("p", "slow");
  auto watch = server_.StartCli({"watch", "-b", std::to_string(id)});
  ASSERT_TRUE(watch->WaitForOutput("begin", seconds(60))) << watch->out() << watch->err();
  watch->Signal(SIGINT);
  CliResult detached = watch->Wait();
  EXPECT_EQ(detached.exit_code, 130);
  EXPECT_NE(detached.err.find("detached; the build goes on"), std::string::npos) << detached.err;
  EXPECT_EQ(Build(id).value("status", ""), "started");
  server_.Api("PUT", "/api/v1/builds/" + std::to_string(id) + "/abort");
}

TEST_F(ServerE2E, ErrorsShowTheServersMessageAndUsageMistakesExitTwo) {
  CliResult missing = server_.Cli({"get-pipeline", "-p", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("error: 404 not found"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  CliResult usage = server_.Cli({"trigger-job", "-j", "no-slash"});
  EXPECT_EQ(usage.exit_code, 2) << usage.All();
  EXPECT_NE(usage.err.find("PIPELINE/JOB"), std::string::npos) << usage.err;
  CliResult no_flag = server_.Cli({"trigger-job"});
  EXPECT_EQ(no_flag.exit_code, 2) << no_flag.All();

  CliResult down = RunCli({BatonBinary().string(), "pipelines"},
                          {"BATON_TARGET_URL=http://127.0.0.1:" + std::to_string(FreeLocalPort()),
                           "BATON_TOKEN=x", "HOME=" + files_.path().string()});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("cannot reach"), std::string::npos) << down.err;
}

TEST_F(ServerE2E, LoginSavesAPrivateTargetThatLaterCommandsUse) {
  std::vector<std::string> env = {"HOME=" + files_.path().string(),
                                  "BATON_TARGET_URL=", "BATON_TOKEN=", "NO_COLOR=1"};
  std::string baton = BatonBinary().string();
  CliResult wrong =
      RunCli({baton, "login", "-c", server_.url(), "--token", "wrong", "-t", "ci"}, env);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("401"), std::string::npos) << wrong.err;
  EXPECT_FALSE(std::filesystem::exists(files_ / ".batonrc"));

  CliResult login = RunCli(
      {baton, "login", "-c", server_.url() + "/", "--token", server_.token(), "-t", "ci"}, env);
  ASSERT_EQ(login.exit_code, 0) << login.All();
  struct stat st {};
  ASSERT_EQ(stat((files_ / ".batonrc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(ReadFile(files_ / ".batonrc").find(server_.url()), std::string::npos);

  EXPECT_EQ(RunCli({baton, "pipelines", "-t", "ci"}, env).exit_code, 0);
  CliResult workers = RunCli({baton, "workers", "-t", "ci"}, env);
  EXPECT_EQ(workers.exit_code, 0) << workers.All();
  EXPECT_NE(workers.out.find("name"), std::string::npos) << workers.out;
  CliResult unknown = RunCli({baton, "pipelines", "-t", "elsewhere"}, env);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("baton login -t elsewhere"), std::string::npos) << unknown.err;
}

TEST_F(ServerE2E, EveryProtectedRouteWithoutATokenIs401) {
  ASSERT_EQ(SetPipeline("p", "jobs:\n" + ShellJob("a", "echo a")).exit_code, 0);
  const std::string p = "/api/v1/teams/main/pipelines/p";
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/api/v1/workers"},
      {"GET", "/api/v1/teams/main/pipelines"},
      {"GET", p},
      {"GET", p + "/config"},
      {"PUT", p + "/config"},
      {"DELETE", p},
      {"PUT", p + "/pause"},
      {"PUT", p + "/unpause"},
      {"PUT", p + "/expose"},
      {"PUT", p + "/hide"},
      {"GET", p + "/jobs"},
      {"GET", p + "/jobs/a"},
      {"POST", p + "/jobs/a/builds"},
      {"GET", p + "/jobs/a/builds"},
      {"GET", p + "/jobs/a/builds/1"},
      {"PUT", p + "/jobs/a/pause"},
      {"PUT", p + "/jobs/a/unpause"},
      {"GET", "/api/v1/builds"},
      {"GET", "/api/v1/builds/1"},
      {"PUT", "/api/v1/builds/1/abort"},
      {"GET", "/api/v1/builds/1/events"},
      {"GET", "/api/v1/builds/1/resources"},
      {"GET", "/api/v1/builds/1/plan"},
      {"GET", p + "/resources"},
      {"GET", p + "/resources/r/versions"},
      {"POST", p + "/resources/r/check"},
      {"PUT", p + "/resources/r/versions/1/pin"},
      {"PUT", p + "/resources/r/unpin"},
  };
  for (const auto& [method, path] : routes) {
    EXPECT_EQ(server_.Api(method, path, "{}", {}, false).status, 401) << method << " " << path;
    EXPECT_EQ(
        server_.Api(method, path, "{}", {{"Authorization", "Bearer not-a-token"}}, false).status,
        401)
        << method << " " << path << " with a wrong token";
  }
  EXPECT_EQ(server_.Api("GET", "/api/v1/info", "", {}, false).status, 200);
  EXPECT_EQ(server_.Api("GET", p, "").status, 200);  // the pipeline is still there
}

TEST_F(ServerE2E, KillNineMidBuildKeepsFinishedBuildsAndErrorsTheInterruptedOne) {
  std::string jobs =
      ShellJob("quick", "echo quick-done") + ShellJob("slow", "echo slow-begin; sleep 120");
  ASSERT_EQ(SetPipeline("p", "jobs:\n" + jobs).exit_code, 0);
  CliResult quick = server_.Cli({"trigger-job", "-w", "-j", "p/quick"});
  ASSERT_EQ(quick.exit_code, 0) << quick.All();
  int64_t quick_id = server_.JobBuilds("p", "quick")[0].value("id", int64_t{0});
  int64_t slow_id = Trigger("p", "slow");
  ASSERT_TRUE(server_.WaitForLogLine(slow_id, "slow-begin")) << server_.log();

  server_.Kill(SIGKILL);
  ASSERT_TRUE(server_.Start()) << server_.log();

  json slow = Build(slow_id);
  EXPECT_EQ(slow.value("status", ""), "errored") << slow.dump();
  EXPECT_NE(slow.value("error", "").find("server stopped"), std::string::npos) << slow.dump();
  EXPECT_EQ(Build(quick_id).value("status", ""), "succeeded");
  EXPECT_EQ(server_.BuildLog(quick_id), "initializing\nquick-done\n");
  EXPECT_NE(server_.BuildLog(slow_id).find("slow-begin"), std::string::npos);
  // The scheduler runs on: a new build goes through, and the interrupted one did not restart.
  CliResult again = server_.Cli({"trigger-job", "-w", "-j", "p/quick"});
  EXPECT_EQ(again.exit_code, 0) << again.All();
  EXPECT_EQ(server_.JobBuilds("p", "slow").size(), 1u);
  EXPECT_EQ(Build(slow_id).value("status", ""), "errored");
}

TEST_F(ServerE2E, FanInGivesTheJoinJobTheSameVersionThroughBothBranches) {
  GitFixtureRepo repo(files_ / "repo");
  repo.Commit({{"v", "1"}}, "one");
  auto job = [](const std::string& name, const std::string& passed) {
    std::string s = "- name: " + name + "\n  plan:\n  - get: repo\n    trigger: true\n";
    if (!passed.empty()) s += "    passed: [" + passed + "]\n";
    return s +
           "  - task: t\n    config:\n      platform: linux\n      inputs: [{name: repo}]\n"
           "      run: {path: sh, args: [-c, 'cat repo/v']}\n";
  };
  std::string yaml =
      GitPipeline(repo.path(), job("a", "") + job("b", "a") + job("c", "a") + job("d", "b, c"));
  ASSERT_EQ(SetPipeline("diamond", yaml).exit_code, 0);
  ASSERT_EQ(server_.WaitForFinishedBuilds("diamond", "d", 1).size(), 1u) << server_.log();
  std::string second = repo.Commit({{"v", "2"}}, "two");
  CliResult check = server_.Cli({"check-resource", "-r", "diamond/repo"});
  ASSERT_EQ(check.exit_code, 0) << check.All();
  json d_builds = server_.WaitForFinishedBuilds("diamond", "d", 2);
  ASSERT_EQ(d_builds.size(), 2u) << server_.log();

  auto input_ref = [&](const json& build) {
    json res = server_.Get("/api/v1/builds/" + std::to_string(build.value("id", 0)) + "/resources");
    for (const auto& in : res["inputs"]) {
      if (in.value("name", "") == "repo") return in["version"].value("ref", "");
    }
    return std::string();
  };
  auto refs_of = [&](const std::string& name) {
    std::set<std::string> refs;
    for (const auto& b : server_.JobBuilds("diamond", name)) {
      if (b.value("status", "") == "succeeded") refs.insert(input_ref(b));
    }
    return refs;
  };
  std::set<std::string> b_refs = refs_of("b"), c_refs = refs_of("c");
  for (const auto& d : d_builds) {
    std::string ref = input_ref(d);
    EXPECT_TRUE(b_refs.count(ref) && c_refs.count(ref)) << "d built " << ref;
  }
  EXPECT_EQ(input_ref(d_builds[0]), second);
  EXPECT_NE(server_.BuildLog(d_builds[0].value("id", int64_t{0})).find("initializing\n2\n"),
            std::string::npos);
  // The plan the build was made from: the fan-in get with both upstream jobs.
  json plan = server_.Get("/api/v1/builds/" + std::to_string(d_builds[0].value("id", 0)) + "/plan");
  EXPECT_EQ(plan.value("job", ""), "d") << plan.dump();
  EXPECT_EQ(plan["plan"][0]["get"]["passed"], (json{"b", "c"})) << plan.dump();
}

// The server caps glibc's arenas at 2 (webapi::CapMallocArenas): threads then share the main
// heap and one more, whose holes stay once quiet. glibc fixes the cap the first time a thread
// needs an arena, so the cap comes before the store and the local worker start their threads:
// set after them, a started server had 4 arenas beside the main heap.
TEST_F(ServerE2E, TheServerKeepsAtMostOneMallocArenaBesideTheMainHeap) {
  BATON_SKIP_IF_SANITIZED("ASan's allocator replaces glibc's malloc: no arenas to count");
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) GTEST_SKIP() << "MALLOC_ARENA_MAX decides";
  ASSERT_EQ(SetPipeline("arenas", "jobs:\n" + ShellJob("a", "true") + ShellJob("b", "true") +
                                      ShellJob("c", "true"))
                .exit_code,
            0);
  for (const char* job : {"a", "b", "c"}) Trigger("arenas", job);
  for (const char* job : {"a", "b", "c"}) {
    ASSERT_EQ(server_.WaitForFinishedBuilds("arenas", job, 1).size(), 1u) << server_.log();
  }
  EXPECT_LE(MallocHeaps(server_.pid()), 1)
      << ReadFile("/proc/" + std::to_string(server_.pid()) + "/maps");
}

// The server runs again once with glibc's per-thread caches limited to blocks of 64 bytes
// (webapi::ReexecWithSmallThreadCaches: glibc reads GLIBC_TUNABLES only at a process's start),
// and then puts the environment back: the programs it starts (its network helper here) are
// executed with the environment the server was given, without the tunable or the marker.
void ExpectSmallCachesAndTheGivenEnvironmentForChildren(const ServerProcess& server,
                                                        const char* given) {
  // Read raw: the loader, parsing GLIBC_TUNABLES in place, ends the first tunable with a NUL.
  const std::string executed = ReadFile("/proc/" + std::to_string(server.pid()) + "/environ");
  std::string seen = executed;
  std::replace(seen.begin(), seen.end(), '\0', '\n');
  const std::string first = given != nullptr ? given : "glibc.malloc.tcache_max=64";
  EXPECT_NE(executed.find("GLIBC_TUNABLES=" + first), std::string::npos)
      << "the server was not executed again with the tunable:\n"
      << seen;
  EXPECT_NE(executed.find("glibc.malloc.tcache_max=64"), std::string::npos) << seen;
  // Still named as the program it is (the kernel names an executed process after the file
  // executed, here /proc/self/exe), so that ps, top and pgrep find it.
  const std::string proc = "/proc/" + std::to_string(server.pid());
  EXPECT_EQ(ReadFile(proc + "/comm"),
            std::filesystem::read_symlink(proc + "/exe").filename().string().substr(0, 15) + "\n");
  std::string value;
  std::vector<pid_t> children;
  ASSERT_TRUE(WaitUntil([&] { return !(children = ExecutedChildren(server.pid())).empty(); },
                        std::chrono::seconds(10)))
      << "the server started no helper program";
  for (pid_t child : children) {
    std::vector<std::string> env = ExecutedEnvironment(child);
    EXPECT_EQ(EnvValue(env, "GLIBC_TUNABLES", value), given != nullptr) << child << ": " << value;
    if (given != nullptr) {
      EXPECT_EQ(value, given) << child;
    }
    EXPECT_FALSE(EnvValue(env, "BATON_GLIBC_TUNABLES_BEFORE", value)) << child << ": " << value;
  }
}

TEST_F(ServerE2E, TheServerRunsWithSmallThreadCachesAndItsChildrenGetTheEnvironmentAsGiven) {
  BATON_SKIP_IF_SANITIZED("ASan's allocator replaces glibc's malloc: the server keeps its start");
  if (std::getenv("GLIBC_TUNABLES") != nullptr) GTEST_SKIP() << "GLIBC_TUNABLES is set here";
  ExpectSmallCachesAndTheGivenEnvironmentForChildren(server_, nullptr);
}

TEST(ServerTunables, TunablesTheUserGaveAreKeptForTheServerAndItsChildren) {
  BATON_SKIP_IF_SANITIZED("ASan's allocator replaces glibc's malloc: the server keeps its start");
  if (std::getenv("GLIBC_TUNABLES") != nullptr) GTEST_SKIP() << "GLIBC_TUNABLES is set here";
  constexpr char kGiven[] = "glibc.malloc.arena_test=8";
  ::setenv("GLIBC_TUNABLES", kGiven, 1);
  {
    ServerProcess server;
    ASSERT_TRUE(server.started()) << server.log();
    ExpectSmallCachesAndTheGivenEnvironmentForChildren(server, kGiven);
  }
  // A tcache tunable of the user's own decides: the server is not executed again.
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=3", 1);
  {
    ServerProcess server;
    ASSERT_TRUE(server.started()) << server.log();
    const std::vector<std::string> env = ExecutedEnvironment(server.pid());
    std::string value;
    EXPECT_TRUE(EnvValue(env, "GLIBC_TUNABLES", value));
    EXPECT_EQ(value, "glibc.malloc.tcache_count=3");
    EXPECT_FALSE(EnvValue(env, "BATON_GLIBC_TUNABLES_BEFORE", value));
  }
  ::unsetenv("GLIBC_TUNABLES");
}

}  // namespace
}  // namespace baton::testing
