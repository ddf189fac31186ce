// The git resource's prepared checkouts (resources/git_checkout_cache.h): the first get of a
// commit checks out straight into its directory and is remembered; the second prepares a
// checkout to copy from. What is remembered is one file beside the checkouts, so that a push's
// first get creates no file there and deletes none.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "fakes/test_env.h"
#include "resources/git_checkout_cache.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;
using baton::testing::ReadFile;
using baton::testing::TempDir;

class CheckoutCache : public ::testing::Test {
 protected:
  fs::path Checkouts() const { return root_ / "mirror.git.checkouts"; }

  // A get of commit `n` into a directory of its own; returns where `prepare` wrote.
  std::string Get(int n) {
    const std::string sha = std::string(39, 'a') + std::to_string(n % 10);
    const fs::path dir = root_ / ("get-" + std::to_string(++gets_));
    std::string prepared_in;
    auto prepare = [&](const std::string& into) {
      prepared_in = into;
      std::ofstream(fs::path(into) / "file") << n;
      return Status::Ok();
    };
    const fs::path cached = Checkouts() / (std::to_string(n) + sha);
    Status st = GetThroughCheckoutCache(cached.string(), dir.string(), prepare);
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(ReadFile(dir / "file"), std::to_string(n));
    return prepared_in == dir.string() ? "straight" : "prepared";
  }

  int Entries() const {
    int n = 0;
    for (const auto& e : fs::directory_iterator(Checkouts())) n += e.exists();
    return n;
  }

  TempDir root_;
  int gets_ = 0;
};

TEST_F(CheckoutCache, CommitsGotOnceAreRememberedInOneFileAndTheSecondGetPreparesACheckout) {
  EXPECT_EQ(Get(1), "straight");
  EXPECT_EQ(Get(2), "straight");
  EXPECT_EQ(Get(3), "straight");
  EXPECT_EQ(Entries(), 1) << "three commits got once: one file remembers them";
  EXPECT_EQ(Get(2), "prepared");
  EXPECT_EQ(Get(2), "prepared") << "copied from the prepared checkout";
  EXPECT_EQ(Entries(), 2);
}

TEST_F(CheckoutCache, OnlyTheNewestCommitsGotOnceAreRemembered) {
  for (int n = 0; n <= static_cast<int>(kMarkersKept); ++n) EXPECT_EQ(Get(n), "straight");
  EXPECT_EQ(Entries(), 1);
  EXPECT_EQ(Get(0), "straight") << "the oldest was forgotten";
  EXPECT_EQ(Get(static_cast<int>(kMarkersKept)), "prepared");
}

TEST_F(CheckoutCache, MarkersAnOlderVersionLeftAreRemovedOnce) {
  fs::create_directories(Checkouts());
  std::ofstream(Checkouts() / "old.seen").close();
  EXPECT_EQ(Get(1), "straight");
  EXPECT_FALSE(fs::exists(Checkouts() / "old.seen"));
  EXPECT_EQ(Entries(), 1);
}

}  // namespace
}  // namespace baton::workers::resources
