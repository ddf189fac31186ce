// What is PostgreSQL's own, beyond the role contracts (store_*_conformance_test.cpp): nodes
// starting together migrate once, writes from several nodes are serialized, a newer schema is
// refused, an older one's rows are carried into the new columns, and connection errors say where
// and what to do (without the password).
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
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

  void Exec(const std::string& sql) {  // a statement returning no rows
    PGconn* conn = PQconnectdb(uri_.c_str());
    PGresult* res = PQexec(conn, sql.c_str());
    EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQerrorMessage(conn);
    PQclear(res);
    PQfinish(conn);
  }

  int64_t QueryInt(const std::string& sql) {
    PGconn* conn = PQconnectdb(uri_.c_str());
    PGresult* res = PQexec(conn, sql.c_str());
    int64_t n = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
      n = std::stoll(PQgetvalue(res, 0, 0));
    } else {
      ADD_FAILURE() << sql << ": " << PQerrorMessage(conn);
    }
    PQclear(res);
    PQfinish(conn);
    return n;
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

// Migration 5 gives each input its build's job; the inputs already there get theirs, so a job's
// next build with the same version is no first occurrence, and another job's first build is.
TEST_F(PostgresStoreTest, ABuildsInputsFromSchema4GetTheirBuildsJob) {
  Id build_job = 0, test_job = 0, old_build = 0;
  BuildInput repo_a;
  {
    auto store = PostgresStore::Open(uri_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    PipelineUpdate u;
    u.name = "app";
    u.jobs = {JobSpec{"build", "", {}}, JobSpec{"test", "", {}}};
    u.resources = {ResourceSpec{"repo", "", "git", "hash-1", {}}};
    auto p = (*store)->SetPipeline(u);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    build_job = (*store)->GetJob(p->id, "build")->id;
    test_job = (*store)->GetJob(p->id, "test")->id;
    const Id repo = (*store)->GetResource(p->id, "repo")->id;
    auto v = (*store)->SaveResourceVersions(repo, {VersionFound{Json{{"ref", "a"}}, {}}});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    repo_a = BuildInput{"repo", v->front().id, repo, {}, true};
    auto b = (*store)->CreateStartedJobBuild(build_job, Json::object(), {repo_a});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    old_build = b->id;
  }
  Exec("DROP INDEX build_inputs_by_job");
  Exec("ALTER TABLE build_inputs DROP COLUMN job_id");
  Exec("UPDATE baton_schema_version SET version = 4");

  auto store = PostgresStore::Open(uri_, clock_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*(*store)->SchemaVersion(), PostgresStore::LatestSchemaVersion());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM build_inputs WHERE job_id IS NULL"), 0);
  auto again = (*store)->CreateStartedJobBuild(build_job, Json::object(), {repo_a});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto other = (*store)->CreateStartedJobBuild(test_job, Json::object(), {repo_a});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_FALSE((*store)->ListBuildInputs(again->id)->at(0).first_occurrence)
      << "the job's build before the migration had repo@a";
  EXPECT_TRUE((*store)->ListBuildInputs(other->id)->at(0).first_occurrence);
  EXPECT_TRUE((*store)->ListBuildInputs(old_build)->at(0).first_occurrence);
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

// NOTIFY / LISTEN: what one node publishes, every node subscribed hears (the publisher too), and
// a node that subscribes later hears only what comes after.
TEST_F(PostgresStoreTest, AMessagePublishedThroughOneNodeReachesEverySubscribedNode) {
  auto a = PostgresStore::Open(uri_, clock_);
  auto b = PostgresStore::Open(uri_, clock_);
  ASSERT_TRUE(a.ok() && b.ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> heard_a, heard_b;
  auto collect = [&](std::vector<std::string>* into) {
    return [&mu, &cv, into](const std::string& payload) {
      std::lock_guard lock(mu);
      into->push_back(payload);
      cv.notify_all();
    };
  };
  ASSERT_TRUE((*b)->Publish("before anyone listens").ok());
  ASSERT_TRUE((*a)->Subscribe(collect(&heard_a)).ok());
  ASSERT_TRUE((*b)->Subscribe(collect(&heard_b)).ok());
  ASSERT_TRUE((*a)->Publish("one").ok());
  ASSERT_TRUE((*b)->Publish("two").ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                          [&] { return heard_a.size() >= 2 && heard_b.size() >= 2; }));
  EXPECT_EQ(heard_a, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(heard_b, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ((*a)->Publish(std::string(8000, 'x')).code(), StatusCode::kInvalidArgument);
}

// W4 on PostgreSQL: one job printing 200,000 lines (~20 MB), then retention reaping that build.
// Reports lines/s and the event table's size (with its TOAST) after W4, after reaping and after
// VACUUM: retention deletes a few hundred chunk rows, not 200,000 line rows.
TEST_F(PostgresStoreTest, W4EventTableSizeAfterTwoHundredThousandLinesAndAfterRetention) {
  constexpr int kLines = 200000;
  auto store = PostgresStore::Open(uri_, RealClock());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  PipelineUpdate u;
  u.name = "w4";
  u.jobs = {JobSpec{"log", "", {}}};
  auto p = (*store)->SetPipeline(u);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const Id job = (*store)->GetJob(p->id, "log")->id;
  auto build = (*store)->CreateJobBuild(job, Json::object());
  ASSERT_TRUE((*store)->StartBuild(build->id).ok());
  int64_t payload_bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kLines; i += 100) {
    std::vector<BuildEvent> batch;
    for (int j = i; j < i + 100; ++j) {
      char text[128];
      std::snprintf(text, sizeof text,
                    "[%06d] compiling src/module_%03d/file_%05d.cpp -> obj/file_%05d.o (ok) %s", j,
                    j % 997, j, j, "................");
      payload_bytes += static_cast<int64_t>(strlen(text));
      batch.push_back(BuildEvent{0, {}, "task:compile", "log", j % 10 ? "stdout" : "stderr", text});
    }
    ASSERT_TRUE((*store)->AppendEvents(build->id, std::move(batch)).ok());
  }
  ASSERT_TRUE((*store)->FinishBuild(build->id, BuildStatus::kSucceeded).ok());  // flushes
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto last = (*store)->ReadEvents(build->id, kLines - 1, 10);
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ(last->front().seq, kLines);
  const char* kSize = "SELECT pg_total_relation_size('build_event_chunks')";
  const int64_t rows = QueryInt("SELECT count(*) FROM build_event_chunks");
  Exec("VACUUM build_event_chunks");  // settles the updated-in-place open chunks' old versions
  const int64_t size_after_w4 = QueryInt(kSize);

  auto newer = (*store)->CreateJobBuild(job, Json::object());
  ASSERT_TRUE((*store)->FinishBuild(newer->id, BuildStatus::kAborted).ok());
  pipelines::BuildLogRetention retention;
  retention.builds = 1;
  auto reaped = (*store)->ReapBuilds(job, retention, RealClock().Now());
  ASSERT_TRUE(reaped.ok()) << reaped.status().ToString();
  ASSERT_EQ(reaped->builds.size(), 1u);
  const int64_t rows_after = QueryInt("SELECT count(*) FROM build_event_chunks");
  const int64_t size_after_reap = QueryInt(kSize);
  Exec("VACUUM build_event_chunks");
  const int64_t size_after_vacuum = QueryInt(kSize);
  std::printf(
      "[ W4 postgres ] %d lines, %.1f MB payload: %.0f lines/s; build_event_chunks: %lld rows, "
      "%.1f MB after W4; %lld rows, %.1f MB after retention, %.1f MB after VACUUM\n",
      kLines, payload_bytes / 1e6, kLines / seconds, static_cast<long long>(rows),
      size_after_w4 / 1e6, static_cast<long long>(rows_after), size_after_reap / 1e6,
      size_after_vacuum / 1e6);
  RecordProperty("lines_per_second", static_cast<int>(kLines / seconds));
  RecordProperty("table_bytes_after_w4", static_cast<int>(size_after_w4));
  RecordProperty("table_bytes_after_vacuum", static_cast<int>(size_after_vacuum));
  EXPECT_LT(rows, 1000) << "chunks, not a row per line";
  EXPECT_LT(size_after_w4, payload_bytes * 12 / 10) << "< 20% overhead over the raw text";
  EXPECT_EQ(rows_after, 0) << "retention deleted the build's chunks";
  EXPECT_LT(size_after_vacuum, size_after_w4 / 2) << "VACUUM gives the chunks' space back";
}

}  // namespace
}  // namespace baton::runner
