// The PostgreSQL test fixture (tests/fakes/postgres_server.h) runs a real PostgreSQL 15, not as
// root, on a Unix socket in its own directory, and hands out separate databases.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include <string>

#include "fakes/postgres_server.h"

namespace baton::testing {
namespace {

std::string QueryText(const std::string& uri, const std::string& sql) {
  PGconn* conn = PQconnectdb(uri.c_str());
  std::string out;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult* res = PQexec(conn, sql.c_str());
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
      out = PQgetvalue(res, 0, 0);
    else
      out = std::string("error: ") + PQerrorMessage(conn);
    PQclear(res);
  } else {
    out = std::string("cannot connect: ") + PQerrorMessage(conn);
  }
  PQfinish(conn);
  return out;
}

TEST(PostgresServer, StartsPostgreSql15NotAsRootWithSeparateDatabases) {
  auto server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto a = (*server)->CreateDatabase();
  auto b = (*server)->CreateDatabase();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE(*a, *b);
  EXPECT_EQ(QueryText(*a, "SHOW server_version_num").substr(0, 2), "15");
  EXPECT_EQ(QueryText(*a, "SHOW listen_addresses"), "") << "no TCP port: only the socket";
  EXPECT_NE(QueryText(*a, "SELECT current_database()"), QueryText(*b, "SELECT current_database()"));
  struct stat st {};
  ASSERT_EQ(stat(((*server)->dir() / "data" / "postmaster.pid").c_str(), &st), 0);
  EXPECT_NE(st.st_uid, 0u) << "PostgreSQL refuses root; it runs as the postgres user";
  const auto dir = (*server)->dir();
  server->reset();
  EXPECT_FALSE(std::filesystem::exists(dir)) << "stopping removes the server's directory";
}

TEST(PostgresServer, TheSharedServerIsStartedOnceAndServesManyDatabases) {
  auto first = PostgresServer::Shared();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = PostgresServer::Shared();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  for (int i = 0; i < 3; ++i) {
    auto uri = (*first)->CreateDatabase();
    ASSERT_TRUE(uri.ok()) << uri.status().ToString();
    EXPECT_EQ(QueryText(*uri, "SELECT 1 + 1"), "2");
  }
}

}  // namespace
}  // namespace baton::testing
