// End to end: `baton web --database postgres://...` keeps everything in a real PostgreSQL 15
// (tests/fakes/postgres_server.h): a pipeline set, triggered and watched through the real client,
// still there after a restart, and nothing written to SQLite in the data dir.
#include <gtest/gtest.h>

#include "fakes/postgres_server.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;

std::string DatabaseUri() {
  auto server = PostgresServer::Shared();
  if (!server.ok()) return "";
  auto uri = (*server)->CreateDatabase();
  return uri.ok() ? *uri : "";
}

TEST(PostgresWebE2E, APipelineRunsAndSurvivesARestartWithEverythingInPostgres) {
  auto pg = PostgresServer::Shared();
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  const std::string uri = DatabaseUri();
  ASSERT_FALSE(uri.empty());
  ServerProcess server({"--bind", "127.0.0.1:0", "--local-worker", "--database", uri}, "web");
  ASSERT_TRUE(server.started()) << server.log();
  EXPECT_NE(server.log().find("store: PostgreSQL at postgresql:///"), std::string::npos)
      << server.log();

  TempDir files;
  WriteFile(files / "p.yml",
            "jobs:\n"
            "- name: hello\n"
            "  plan:\n"
            "  - task: say\n"
            "    config:\n"
            "      platform: linux\n"
            "      run: {path: sh, args: [-c, 'echo hello from postgres']}\n");
  CliResult set =
      server.Cli({"set-pipeline", "-n", "-p", "demo", "-c", (files / "p.yml").string()});
  ASSERT_EQ(set.exit_code, 0) << set.All();
  ASSERT_EQ(server.Cli({"unpause-pipeline", "-p", "demo"}).exit_code, 0);
  CliResult run = server.Cli({"trigger-job", "-j", "demo/hello", "-w"});
  EXPECT_EQ(run.exit_code, 0) << run.All();
  EXPECT_NE(run.out.find("hello from postgres"), std::string::npos) << run.All();

  json builds = server.WaitForFinishedBuilds("demo", "hello", 1);
  ASSERT_EQ(builds.size(), 1u) << builds.dump();
  EXPECT_EQ(builds[0].value("status", ""), "succeeded");
  const int64_t id = builds[0].value("id", int64_t{0});

  server.Kill(SIGTERM);
  ASSERT_TRUE(server.Start()) << server.log();
  json again = server.Get("/api/v1/builds/" + std::to_string(id));
  EXPECT_EQ(again.value("status", ""), "succeeded") << again.dump();
  EXPECT_NE(server.BuildLog(id).find("hello from postgres"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() / "baton.db"))
      << "with --database nothing goes to SQLite";
}

TEST(PostgresWebE2E, ADatabaseThatIsNotPostgresIsRefusedSayingWhatToGive) {
  TempDir dir;
  CliResult r = RunCli({BatonBinary().string(), "web", "--bind", "127.0.0.1:0", "--data-dir",
                        (dir / "data").string()},
                       {"BATON_DATABASE=mysql://root:hunter2@db/baton"}, std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("takes a PostgreSQL URL"), std::string::npos) << r.All();
  EXPECT_EQ(r.All().find("hunter2"), std::string::npos) << "the password is never shown";
}

}  // namespace
}  // namespace baton::testing
