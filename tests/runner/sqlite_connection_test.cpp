// The store's SQLite connection (runner/store/src/sqlite_db.h) and its chunk compressor
// (chunk_compression.h), both private to the store: what they keep between calls to spare work a
// job, and that it changes no result.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "chunk_compression.h"
#include "fakes/test_env.h"
#include "sqlite_db.h"

namespace baton::runner::sqlite {
namespace {

using testing::TempDir;

class SqliteConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = Connection::Open((dir_.path() / "t.db").string(), false, 1000);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
    ASSERT_TRUE(conn_->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER)").ok());
  }

  int64_t Rows() { return conn_->QueryInt("SELECT count(*) FROM t")->value_or(-1); }

  TempDir dir_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(SqliteConnectionTest, TransactionsAndSavepointsRunAgainAndAgainWithTheirMeaning) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(conn_->RunControl("BEGIN IMMEDIATE").ok());
    ASSERT_TRUE(conn_->Run("INSERT INTO t VALUES (?)", i).ok());
    ASSERT_TRUE(conn_->RunControl("SAVEPOINT build_events").ok());
    ASSERT_TRUE(conn_->Run("INSERT INTO t VALUES (?)", 100 + i).ok());
    ASSERT_TRUE(conn_->RunControl("ROLLBACK TO build_events").ok());
    ASSERT_TRUE(conn_->RunControl("RELEASE build_events").ok());
    EXPECT_TRUE(conn_->InTransaction());
    ASSERT_TRUE(conn_->RunControl("COMMIT").ok());
    EXPECT_FALSE(conn_->InTransaction());
  }
  EXPECT_EQ(Rows(), 3);
  ASSERT_TRUE(conn_->RunControl("BEGIN").ok());
  ASSERT_TRUE(conn_->Run("INSERT INTO t VALUES (7)").ok());
  ASSERT_TRUE(conn_->RunControl("ROLLBACK").ok());
  EXPECT_EQ(Rows(), 3);
}

TEST_F(SqliteConnectionTest, ACommitWithoutATransactionIsAnErrorEachTime) {
  for (int i = 0; i < 2; ++i) {
    Status status = conn_->RunControl("COMMIT");
    EXPECT_EQ(status.code(), StatusCode::kIoError);
    EXPECT_NE(status.message().find("no transaction is active"), std::string::npos)
        << status.ToString();
  }
  ASSERT_TRUE(conn_->RunControl("BEGIN IMMEDIATE").ok());
  EXPECT_TRUE(conn_->RunControl("COMMIT").ok());
}

TEST(ChunkCompression, AShortBodyIsKeptAsItIsAndALongOneCompressed) {
  sql::ChunkCompressor compressor;
  // A job's status and step events (~500 bytes), or a few short lines more: under 2 KiB.
  const std::string short_body(2000, 'a');
  std::string_view packed = compressor.Pack(short_body);
  EXPECT_EQ(packed.data(), short_body.data());
  EXPECT_EQ(packed.size(), short_body.size());

  const std::string long_body(4096, 'a');
  packed = compressor.Pack(long_body);
  EXPECT_LT(packed.size(), 100u);
  std::string scratch;
  auto unpacked = sql::UnpackChunk(packed, scratch);
  ASSERT_TRUE(unpacked.ok()) << unpacked.status().ToString();
  EXPECT_EQ(*unpacked, long_body);
}

}  // namespace
}  // namespace baton::runner::sqlite
