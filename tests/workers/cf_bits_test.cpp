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
  for (const char* f :
       {".gitignore", ".git/config", ".DS_Store", "_darcs/x", ".svn/x", ".hg/x", "debug.log",
        "sub/trace.log", "keep.log", "secrets/key", "only-at-root.txt", "sub/only-at-root.txt",
        "sub/manifest.yml", "docs/a/b/c.md", "docs/readme.txt"}) {
    testing::WriteFile(app / f, "content");
  }
  auto pushed = Put(params);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  std::set<std::string> wanted = {"app.py",           "keep.log", "sub",    "sub/only-at-root.txt",
                                  "sub/manifest.yml", "docs",     "docs/a", "docs/a/b",
                                  "docs/readme.txt"};
  EXPECT_EQ(UploadedPaths(), wanted);
  EXPECT_NE(sink_.text().find("per .cfignore and the cf CLI's defaults"), std::string::npos);
}

// Writes build/<dir>/app.jar (a zip holding app.py and a jar manifest) with python's zipfile.
void WriteJar(const fs::path& jar) {
  fs::create_directories(jar.parent_path());
  testing::WriteFile(jar.parent_path() / "app.py", kAppScript);
  std::string script =
      "import zipfile\n"
      "with zipfile.ZipFile('" +
      jar.string() +
      "', 'w') as z:\n"
      "    z.write('" +
      (jar.parent_path() / "app.py").string() +
      "', 'app.py')\n"
      "    z.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\\n')\n";
  testing::WriteFile(jar.parent_path() / "make_jar.py", script);
  ASSERT_EQ(std::system(("python3 " + (jar.parent_path() / "make_jar.py").string()).c_str()), 0);
  fs::remove(jar.parent_path() / "app.py");
  fs::remove(jar.parent_path() / "make_jar.py");
}

TEST_F(CfBits, AJarPathIsPushedAsItIs) {
  Json params = WriteApp("api", "from a jar");
  fs::remove(dir_ / "build" / "api" / "app.py");
  WriteJar(dir_ / "build" / "api" / "target" / "app-1.0.jar");
  params["path"] = "api/target/*.jar";  // a glob, as cf-resource takes it
  auto pushed = Put(params);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_EQ(UploadedPaths(), (std::set<std::string>{"app.py", "META-INF", "META-INF/MANIFEST.MF"}));
  EXPECT_EQ(Get(AppUrl("api") + "/"), "200 from a jar\n");
  EXPECT_NE(sink_.text().find("pushing the archive app-1.0.jar"), std::string::npos);
}

TEST_F(CfBits, AManifestPathToAJarIsPushedToo) {
  fs::path app = dir_ / "build" / "api";
  WriteJar(app / "target" / "app.jar");
  testing::WriteFile(app / "manifest.yml",
                     "applications:\n- name: api\n  path: target/app.jar\n"
                     "  command: python3 app.py\n  env: {MESSAGE: manifest jar}\n");
  auto pushed = Put({{"manifest", "api/manifest.yml"}});
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_EQ(Get(AppUrl("api") + "/"), "200 manifest jar\n");
}

TEST_F(CfBits, AFileThatIsNotAnArchiveIsRefusedWithWhatCfPushTakes) {
  Json params = WriteApp("api", "x");
  testing::WriteFile(dir_ / "build" / "api" / "app.war", "not a zip");
  params["path"] = "api/app.war";
  auto pushed = Put(params);
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("is a file but not a zip archive"), std::string::npos)
      << pushed.status().message();
  EXPECT_NE(pushed.status().message().find("a directory or a .zip, .jar or .war archive"),
            std::string::npos);
}

TEST_F(CfBits, APathGlobMustMatchExactlyOneFile) {
  Json params = WriteApp("api", "x");
  params["path"] = "api/target/*.jar";
  auto pushed = Put(params);
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("cf put: path 'api/target/*.jar' matches 0 files"),
            std::string::npos)
      << pushed.status().message();
}

TEST_F(CfBits, ADockerAppGetsADockerPackageAndNoBits) {
  fs::path app = dir_ / "build" / "web";
  testing::WriteFile(app / "manifest.yml",
                     "applications:\n- name: web\n  docker:\n    image: example/web:1.2\n"
                     "    username: deployer\n"
                     "  command: python3 -m http.server $PORT --bind 127.0.0.1\n");
  auto pushed = Put({{"manifest", "web/manifest.yml"}, {"docker_password", "registry-Secret-9"}});
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  for (const auto& request : cf_->Requests()) {
    EXPECT_EQ(request.find("/upload"), std::string::npos) << request;
  }
  EXPECT_NE(FakeLog().find("for image example/web:1.2"), std::string::npos) << FakeLog();
  EXPECT_EQ(Get(AppUrl("web") + "/").substr(0, 3), "200");
  EXPECT_EQ(sink_.text().find("registry-Secret-9"), std::string::npos);
}

TEST_F(CfBits, TheStandInRefusesBitsForADockerApp) {
  // What the old type did: a bits package for a docker app, which Cloud Controller refuses.
  fs::path app = dir_ / "build" / "web";
  testing::WriteFile(app / "manifest.yml",
                     "applications:\n- name: web\n  docker: {image: example/web:1.2}\n"
                     "  command: python3 -m http.server $PORT --bind 127.0.0.1\n");
  ASSERT_TRUE(Put({{"manifest", "web/manifest.yml"}}).ok()) << sink_.text();
  net::HttpClient client;
  net::Headers form;
  form.Set("Content-Type", "application/x-www-form-urlencoded");
  form.Set("Authorization", "Basic Y2Y6");  // the public client "cf:"
  auto token =
      client.Post(cf_->url() + "/login/oauth/token",
                  std::string("grant_type=password&username=admin&password=") + kPassword, form);
  ASSERT_TRUE(token.ok() && token->status == 200);
  net::Headers auth;
  auth.Set("Authorization",
           "bearer " + Json::parse(token->body)["access_token"].get<std::string>());
  auto apps = client.Get(cf_->url() + "/v3/apps?names=web", auth);
  ASSERT_TRUE(apps.ok());
  std::string guid = Json::parse(apps->body)["resources"][0]["guid"];
  Json body = {{"type", "bits"}, {"relationships", {{"app", {{"data", {{"guid", guid}}}}}}}};
  auto created = client.Post(cf_->url() + "/v3/packages", body.dump(), auth);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->status, 422);
  EXPECT_NE(created->body.find("Cannot create bits package for a Docker app."), std::string::npos);
}

}  // namespace
}  // namespace baton::workers::cftest
