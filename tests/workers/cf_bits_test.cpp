// What a `cf` push uploads: the app directory without what `cf push` leaves out (.cfignore and
// the CLI's defaults), as seen in the stand-in's unzipped package.
#include "workers/cf_test_fixture.h"

namespace baton::workers::cftest {
namespace {

class CfBits : public CfResource {
 protected:
  // Every path of the (only) package the stand-in received, relative to its root.
  std::set<std::string> UploadedPaths() {
    std::set<std::string> out;
    fs::path packages = dir_ / "cf" / "packages";
    for (const auto& package : fs::directory_iterator(packages)) {
      for (const auto& e : fs::recursive_directory_iterator(package.path())) {
        out.insert(e.path().lexically_relative(package.path()).generic_string());
      }
    }
    return out;
  }
};

TEST_F(CfBits, CfIgnoreAndTheCliDefaultsKeepFilesOutOfThePackage) {
  Json params = WriteApp("api", "x");
  fs::path app = dir_ / "build" / "api";
  testing::WriteFile(app / ".cfignore",
                     "# logs stay home\n*.log\n!keep.log\nsecrets/\n/only-at-root.txt\n"
                     "docs/**/*.md\n");
  for (const char* f : {".gitignore", ".git/config", ".DS_Store", "_darcs/x", ".svn/x", ".hg/x",
                        "debug.log", "sub/trace.log", "keep.log", "secrets/key", "only-at-root.txt",
                        "sub/only-at-root.txt", "sub/manifest.yml", "docs/a/b/c.md",
                        "docs/readme.txt"}) {
    testing::WriteFile(app / f, "content");
  }
  auto pushed = Put(params);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  std::set<std::string> wanted = {"app.py",
                                  "keep.log",
                                  "sub",
                                  "sub/only-at-root.txt",
                                  "sub/manifest.yml",
                                  "docs",
                                  "docs/a",
                                  "docs/a/b",
                                  "docs/readme.txt"};
  EXPECT_EQ(UploadedPaths(), wanted);
  EXPECT_NE(sink_.text().find("per .cfignore and the cf CLI's defaults"), std::string::npos);
}

}  // namespace
}  // namespace baton::workers::cftest
