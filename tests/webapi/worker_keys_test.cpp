// WorkerKeys: the web node's list of worker keys, read from real files.
#include "baton/webapi/worker_keys.h"

#include <gtest/gtest.h>

#include "fakes/test_env.h"

namespace baton::webapi {
namespace {

using testing::TempDir;
using testing::WriteFile;

const std::string kKey1(40, 'a');
const std::string kKey2(64, 'f');

TEST(WorkerKeys, AcceptsEveryListedKeySkippingCommentsBlankLinesAndTrailingWords) {
  TempDir dir;
  WriteFile(dir / "keys", "# team workers\n\n" + kKey1 + " worker-1\n  " + kKey2 + "\n");
  auto keys = WorkerKeys::Load({dir / "keys"});
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->size(), 2u);
  EXPECT_TRUE(keys->Accepts(kKey1));
  EXPECT_TRUE(keys->Accepts(kKey2));
  EXPECT_FALSE(keys->Accepts(kKey1 + " worker-1"));
  EXPECT_FALSE(keys->Accepts(kKey1.substr(1)));
  EXPECT_FALSE(keys->Accepts(""));
}

TEST(WorkerKeys, AShortKeyIsRefusedNamingTheFileAndLine) {
  TempDir dir;
  WriteFile(dir / "keys", kKey1 + "\nshort-key\n");
  auto keys = WorkerKeys::Load({dir / "keys"});
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().ToString().find((dir / "keys").string() + ":2"), std::string::npos)
      << keys.status().ToString();
  EXPECT_NE(keys.status().ToString().find("baton worker-key"), std::string::npos);
}

TEST(WorkerKeys, AMissingOrEmptyFileIsAnErrorNamingIt) {
  TempDir dir;
  auto missing = WorkerKeys::Load({dir / "nope"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("nope"), std::string::npos);
  WriteFile(dir / "empty", "# nothing yet\n");
  auto empty = WorkerKeys::Load({dir / "empty"});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().ToString().find("holds no key"), std::string::npos);
}

TEST(WorkerKeys, NoFilesAcceptNoKey) {
  auto keys = WorkerKeys::Load({});
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
  EXPECT_FALSE(keys->Accepts(kKey1));
}

TEST(WorkerKeys, AWorkersKeyFileGivesItsFirstKey) {
  TempDir dir;
  WriteFile(dir / "w.key", "# mine\n" + kKey2 + "\n");
  auto key = ReadWorkerKeyFile(dir / "w.key");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(*key, kKey2);
}

}  // namespace
}  // namespace baton::webapi
