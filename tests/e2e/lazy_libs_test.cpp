// The `baton` executable loads its server-side libraries (libgit2, libarchive, libzip, libpq,
// OpenSSL, libzstd; SQLite and libmbedcrypto too where they are not linked in) on first use, not at
// start (cmake/LazyLibs.cmake): client commands must run without them, and a server command that
// cannot load one must say which, why, and what to do. Each
// library is replaced by an empty file of its soname on LD_LIBRARY_PATH, which the dynamic loader
// cannot load ("file too short").
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "fakes/e2e_util.h"
#include "fakes/server_process.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

#if BATON_LAZY_LIBS

const char* const kLazySonames[] = {"libgit2.so.1.5",  "libarchive.so.13", "libzip.so.4",
                                    "libsqlite3.so.0", "libpq.so.5",       "libssl.so.3",
                                    "libcrypto.so.3",  "libzstd.so.1",     "libmbedcrypto.so.7"};

// A directory of unloadable stand-ins for `sonames`; returns LD_LIBRARY_PATH=<it>.
std::string BrokenLibraries(const TempDir& dir, const std::vector<std::string>& sonames) {
  for (const auto& soname : sonames) WriteFile(dir / soname, "");
  return "LD_LIBRARY_PATH=" + dir.path().string();
}

std::vector<std::string> AllLazySonames() {
  return {std::begin(kLazySonames), std::end(kLazySonames)};
}

constexpr const char* kHelloPipeline = R"(
jobs:
- name: hello
  plan:
  - task: say
    config:
      platform: linux
      run: {path: echo, args: [hi]}
)";

TEST(LazyLibs, ClientCommandsRunWithoutTheServerLibraries) {
  TempDir libs;
  ProcessOptions options;
  options.extra_env = {BrokenLibraries(libs, AllLazySonames())};

  ProcessResult version = RunBaton({"--version"}, options);
  EXPECT_EQ(version.exit_code, 0) << version.All();
  EXPECT_NE(version.out.find("baton "), std::string::npos) << version.All();

  TempDir dir;
  WriteFile(dir / "p.yml", kHelloPipeline);
  ProcessResult valid = RunBaton({"validate-pipeline", "-c", (dir / "p.yml").string()}, options);
  EXPECT_EQ(valid.exit_code, 0) << valid.All();

  // A client command against a real server (the server itself loads its libraries normally).
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  std::vector<std::string> env = server.ClientEnv();
  env.push_back(options.extra_env[0]);
  CliResult set = RunCli(
      {BatonBinary().string(), "set-pipeline", "-p", "lazy", "-c", (dir / "p.yml").string(), "-n"},
      env);
  EXPECT_EQ(set.exit_code, 0) << set.All();
  CliResult list = RunCli({BatonBinary().string(), "pipelines"}, env);
  EXPECT_EQ(list.exit_code, 0) << list.All();
  EXPECT_NE(list.out.find("lazy"), std::string::npos) << list.All();
}

// A first start makes and hashes the admin token, and each API call hashes the token it shows:
// with OpenSSL's libcrypto that kept ~1.5 MB of it resident in an idle server, and an open store
// loaded libzstd before any log was written (docs/benchmarks.md, branch memory2).
TEST(LazyLibs, AServerStartsAndServesTheApiWithoutOpenSslOrZstd) {
  TempDir libs;
  const std::string broken =
      BrokenLibraries(libs, {"libssl.so.3", "libcrypto.so.3", "libzstd.so.1"});
  // The server inherits the environment (CTest runs each test in a process of its own).
  ASSERT_EQ(setenv("LD_LIBRARY_PATH", broken.substr(broken.find('=') + 1).c_str(), 1), 0);
  ServerProcess server;
  unsetenv("LD_LIBRARY_PATH");
  ASSERT_TRUE(server.started()) << server.log();
  ApiReply pipelines = server.Api("GET", "/api/v1/teams/main/pipelines");
  EXPECT_EQ(pipelines.status, 200) << pipelines.text;
  const std::string maps = ReadFile("/proc/" + std::to_string(server.pid()) + "/maps");
  EXPECT_EQ(maps.find("libcrypto"), std::string::npos);
  EXPECT_EQ(maps.find("libzstd"), std::string::npos);
#if BATON_STATIC_START_LIBS
  // Linked into baton (BATON_STATIC_START_LIBS): the API's 200 above is the tokens' hash at work.
  EXPECT_EQ(maps.find("libmbedcrypto"), std::string::npos) << maps;
#else
  EXPECT_NE(maps.find("libmbedcrypto"), std::string::npos) << "the tokens were not hashed?";
#endif
}

// A git resource's check is the run's first use of libgit2.
TEST(LazyLibs, AServerLibraryThatCannotBeLoadedIsNamedWithWhatToDo) {
  TempDir libs;
  ProcessOptions options;
  options.extra_env = {BrokenLibraries(libs, {"libgit2.so.1.5"})};
  TempDir dir;
  WriteFile(dir / "p.yml",
            "resources:\n- name: src\n  type: git\n  source: {uri: " + (dir / "no-repo").string() +
                "}\njobs:\n- name: j\n  plan:\n  - get: src\n");
  ProcessResult run = RunBaton(
      {"run", "-c", (dir / "p.yml").string(), "--data-dir", (dir / "data").string()}, options);
  EXPECT_EQ(run.exit_code, 127) << run.All();
  EXPECT_NE(run.err.find("cannot load the shared library libgit2.so.1.5"), std::string::npos)
      << run.All();
  EXPECT_NE(run.err.find("git resources (libgit2)"), std::string::npos) << run.All();
  EXPECT_NE(run.err.find("file too short"), std::string::npos) << run.All();
  EXPECT_NE(run.err.find("install it"), std::string::npos) << run.All();
}

#if BATON_STATIC_START_LIBS

// SQLite and libmbedcrypto are linked into baton (BATON_STATIC_START_LIBS, the top
// CMakeLists.txt): a run (its store, its resource cache's keys) loads neither.
TEST(StaticStartLibs, ARunLoadsNeitherSqliteNorMbedcrypto) {
  TempDir libs;
  ProcessOptions options;
  options.extra_env = {BrokenLibraries(libs, {"libsqlite3.so.0", "libmbedcrypto.so.7"})};
  TempDir dir;
  WriteFile(dir / "p.yml",
            "resources:\n- name: r\n  type: mock\n  source: {initial_version: v1}\n"
            "jobs:\n- name: j\n  plan:\n  - get: r\n    trigger: true\n  - task: t\n"
            "    config: {platform: linux, run: {path: 'true'}}\n");
  ProcessResult run = RunBaton(
      {"run", "-c", (dir / "p.yml").string(), "--data-dir", (dir / "data").string()}, options);
  EXPECT_EQ(run.exit_code, 0) << run.All();
  EXPECT_NE(run.out.find("succeeded"), std::string::npos) << run.All();
}

#endif

#else

TEST(LazyLibs, ClientCommandsRunWithoutTheServerLibraries) {
  GTEST_SKIP() << "built with -DBATON_LAZY_LIBS=OFF: baton links its libraries normally";
}

#endif

#if BATON_STATIC_CXX

// The C++ runtime and C++ libraries are linked into `baton` (BATON_STATIC_CXX, the top
// CMakeLists.txt): none is loaded, by a client command or by a server. Stand-ins that cannot be
// loaded on LD_LIBRARY_PATH make a start that still needs one fail.
TEST(StaticCxx, BatonLoadsNoCxxLibrary) {
  TempDir libs;
  for (const char* soname : {"libstdc++.so.6", "libgcc_s.so.1", "libyaml-cpp.so.0.7",
                             "libspdlog.so.1.10", "libfmt.so.9"}) {
    WriteFile(libs / soname, "");
  }
  ProcessOptions options;
  options.extra_env = {"LD_LIBRARY_PATH=" + libs.path().string()};
  ProcessResult version = RunBaton({"--version"}, options);
  EXPECT_EQ(version.exit_code, 0) << version.All();
  TempDir dir;
  WriteFile(dir / "p.yml",
            "jobs:\n- name: j\n  plan:\n  - task: t\n    config: {platform: linux, "
            "run: {path: 'true'}}\n");
  ProcessResult valid = RunBaton({"validate-pipeline", "-c", (dir / "p.yml").string()}, options);
  EXPECT_EQ(valid.exit_code, 0) << valid.All();

  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  ApiReply pipelines = server.Api("GET", "/api/v1/teams/main/pipelines");
  EXPECT_EQ(pipelines.status, 200) << pipelines.text;
  const std::string maps = ReadFile("/proc/" + std::to_string(server.pid()) + "/maps");
  for (const char* name : {"libstdc++", "libgcc_s", "libyaml-cpp", "libspdlog", "libfmt"}) {
    EXPECT_EQ(maps.find(name), std::string::npos) << name << " is loaded:\n" << maps;
  }
}

#endif

}  // namespace
}  // namespace baton::testing
