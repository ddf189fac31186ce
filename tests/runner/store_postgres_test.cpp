// What is PostgreSQL's own, beyond the role contracts (store_*_conformance_test.cpp): nodes
// starting together migrate once, writes from several nodes are serialized, a newer schema is
// refused, and connection errors say where and what to do (without the password).
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <set>
#include <thread>

#include "baton/runner/postgres_store.h"
#include "fakes/fake_clock.h"
#include "fakes/postgres_server.h"

namespace baton::runner {
namespace {

using testing::FakeClock;
using testing::PostgresServer;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    auto uri = (*server)->CreateDatabase();
    ASSERT_TRUE(uri.ok()) << uri.status().ToString();
    uri_ = *uri;
  }

  void Exec(const std::string& sql) {
    PGconn* conn = PQconnectdb(uri_.c_str());
    PGresult* res = PQexec(conn, sql.c_str());
    EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQerrorMessage(conn);
    PQclear(res);
    PQfinish(conn);
  }

  FakeClock clock_;
  std::string uri_;
};

TEST_F(PostgresStoreTest, NodesStartingTogetherMigrateOnce) {
  constexpr int kNodes = 4;
  std::vector<std::unique_ptr<PostgresStore>> nodes(kNodes);
  std::vector<Status> results(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      auto store = PostgresStore::Open(uri_, clock_);
      results[i] = store.status();
      if (store.ok()) nodes[i] = std::move(*store);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(results[i].ok()) << "node " << i << ": " << results[i].ToString();
    EXPECT_EQ(*nodes[i]->SchemaVersion(), PostgresStore::LatestSchemaVersion());
  }
  auto teams = nodes[0]->ListTeams();
  ASSERT_TRUE(teams.ok()) << teams.status().ToString();
  EXPECT_EQ(teams->size(), 1u) << "the first migration ran once: one main team";
}

TEST_F(PostgresStoreTest, BuildsCreatedThroughTwoNodesAreNumberedOnce) {
  auto a = PostgresStore::Open(uri_, clock_);
  auto b = PostgresStore::Open(uri_, clock_);
  ASSERT_TRUE(a.ok() && b.ok());
  PipelineUpdate u;
  u.name = "app";
  u.jobs = {JobSpec{"build", "", {}}};
  auto p = (*a)->SetPipeline(u);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const Id job = (*b)->GetJob(p->id, "build")->id;
  std::vector<std::thread> threads;
  for (Store* node : {static_cast<Store*>(a->get()), static_cast<Store*>(b->get())}) {
    threads.emplace_back([node, job] {
      for (int i = 0; i < 25; ++i) EXPECT_TRUE(node->CreateJobBuild(job, {}).ok());
    });
  }
  for (auto& t : threads) t.join();
  BuildQuery q;
  q.job_id = job;
  q.limit = 100;
  auto builds = (*a)->ListBuilds(q);
  ASSERT_EQ(builds->size(), 50u);
  std::set<std::string> names;
  for (const Build& build : *builds) names.insert(build.name);
  EXPECT_EQ(names.size(), 50u);
  EXPECT_EQ((*b)->GetJobById(job)->next_build_number, 51);
}

TEST_F(PostgresStoreTest, ADatabaseFromANewerBatonIsRefusedWithAClearError) {
  { ASSERT_TRUE(PostgresStore::Open(uri_, clock_).ok()); }
  Exec("UPDATE baton_schema_version SET version = 999");
  auto store = PostgresStore::Open(uri_, clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos) << store.status().ToString();
}

TEST_F(PostgresStoreTest, AnUnreachableDatabaseIsNamedWithoutItsPassword) {
  auto store =
      PostgresStore::Open("postgresql://baton:s3cret@/nowhere?host=/nonexistent-dir", clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  const std::string text = store.status().ToString();
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
  EXPECT_NE(text.find("postgresql://baton:***@/nowhere"), std::string::npos) << text;
  EXPECT_NE(text.find("BATON_DATABASE"), std::string::npos) << "says what to check: " << text;
  EXPECT_EQ(PostgresStore::Redacted("host=db password=hunter2 dbname=baton"),
            "host=db password=*** dbname=baton");
}

}  // namespace
}  // namespace baton::runner
