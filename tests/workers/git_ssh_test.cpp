// The git resource over ssh (issue 10: `private_key`), against Debian's sshd on 127.0.0.1 with
// keys made by the test: check and get with the key, a key the server does not accept is an
// error that says which source field to fix, and the key never appears in messages.
#include <gtest/gtest.h>

#include <filesystem>

#include "baton/workers/resource_type.h"
#include "fakes/git_fixture.h"
#include "fakes/test_env.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::GitFixtureRepo;
using baton::testing::GitSshServer;
using baton::testing::ReadFile;
using baton::testing::RunGit;
using baton::testing::TempDir;

TEST(GitSsh, ChecksAndGetsWithThePrivateKeyAndRefusesAnotherKeyClearly) {
  TempDir root;
  GitFixtureRepo upstream(root / "upstream", "master");
  std::string head = upstream.Commit({{"a.txt", "over ssh"}}, "first");
  RunGit(root.path(), "init -q --bare repo.git");
  RunGit(upstream.path(), "push -q '" + (root / "repo.git").string() + "' master");
  GitSshServer sshd(root / "sshd");
  ASSERT_TRUE(sshd.started());

  ResourceContext ctx;
  ctx.cache_dir = (root / "cache").string();
  auto git = MakeBuiltinResourceType("git");
  Json source = {{"uri", sshd.Url(root / "repo.git")}, {"private_key", sshd.client_key()}};
  auto versions = git->Check(ctx, source, nullptr);
  ASSERT_TRUE(versions.ok()) << versions.status().ToString() << "\n" << ReadFile(sshd.log_path());
  EXPECT_EQ(*versions, (std::vector<Json>{Json{{"ref", head}}}));
  fs::path dir = root / "get";
  fs::create_directories(dir);
  auto got = git->Get(ctx, source, Json{{"ref", head}}, Json::object(), dir.string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(ReadFile(dir / "a.txt"), "over ssh");
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref HEAD"), "master\n");

  ctx.cache_dir = (root / "other-cache").string();  // a fresh mirror: the fetch must happen
  Json refused = source;
  refused["private_key"] = sshd.other_key();
  auto denied = git->Check(ctx, refused, nullptr);
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.status().message().find("source.private_key"), std::string::npos)
      << denied.status().message();
  EXPECT_EQ(denied.status().message().find("PRIVATE KEY"), std::string::npos);
}

}  // namespace
}  // namespace baton::workers
