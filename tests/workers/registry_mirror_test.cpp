// registry-image's source.registry_mirror against Debian's docker-registry on 127.0.0.1 standing
// in for a Docker Hub mirror: images whose repository names no registry come from the mirror
// (with the mirror's own credentials), a repository naming its registry ignores the mirror.
// Falling back to Docker Hub itself when the mirror fails is checked with a mirror that refuses
// connections and Docker Hub's side recorded by the transport (tests have no internet).
#include <gtest/gtest.h>

#include "baton/workers/resource_type.h"
#include "fakes/test_env.h"
#include "registry-server/registry_resource_fixture.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::ImageLayout;
using baton::testing::ReadFile;
using baton::testing::RegistryServer;
using baton::testing::RegistryServerOptions;

class RegistryMirror : public baton::testing::RegistryResourceTest {
 protected:
  void PushBusybox(const RegistryServer& registry, const std::string& repository,
                   const std::string& marker) {
    ImageLayout layout(dir_ / ("layout-" + marker));
    layout.NewBusyboxImage("t");
    layout.Configure("t", {"MARKER=" + marker}, "");
    layout.Push("t", registry, repository, "latest");
  }
};

TEST_F(RegistryMirror, DockerHubImagesComeFromTheMirrorWithItsOwnCredentials) {
  RegistryServer mirror(dir_ / "mirror", RegistryServerOptions{true, "mirror-user", "m1rr0r-pw"});
  PushBusybox(mirror, "library/busybox", "mirrored");
  Json source = {
      {"repository", "busybox"},
      {"ca_certs", {mirror.ca_pem()}},
      {"registry_mirror",
       {{"host", mirror.host()}, {"username", "mirror-user"}, {"password", "m1rr0r-pw"}}}};
  auto checked = type_->Check(ctx_, source, nullptr);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString() << lines_.text();
  ASSERT_EQ(checked->size(), 1u);
  fs::create_directories(dir_ / "get");
  auto got = type_->Get(ctx_, source, (*checked)[0], Json::object(), (dir_ / "get").string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_NE(ReadFile(dir_ / "get" / "metadata.json").find("MARKER=mirrored"), std::string::npos);
  std::string log = ReadFile(mirror.log_path());
  EXPECT_NE(log.find("/v2/library/busybox/manifests/latest"), std::string::npos) << log;
  EXPECT_EQ(lines_.text().find("m1rr0r-pw"), std::string::npos) << lines_.text();
}

TEST_F(RegistryMirror, ARepositoryNamingItsRegistryIgnoresTheMirror) {
  RegistryServer mirror(dir_ / "mirror");
  RegistryServer own(dir_ / "own");
  PushBusybox(mirror, "team/app", "from-mirror");
  PushBusybox(own, "team/app", "from-own");
  Json source = {{"repository", own.host() + "/team/app"},
                 {"insecure", true},
                 {"registry_mirror", {{"host", mirror.host()}}}};
  size_t pushed = ReadFile(mirror.log_path()).size();  // skopeo's requests come before
  auto checked = type_->Check(ctx_, source, nullptr);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  fs::create_directories(dir_ / "get");
  auto got = type_->Get(ctx_, source, (*checked)[0], Json::object(), (dir_ / "get").string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_NE(ReadFile(dir_ / "get" / "metadata.json").find("MARKER=from-own"), std::string::npos);
  EXPECT_EQ(ReadFile(mirror.log_path()).substr(pushed).find("/v2/team/app/"), std::string::npos);
}

// Without the internet, Docker Hub's side is a transport that records the URLs asked for (and
// answers 404); the mirror is a real closed port.
class HubRecorder : public HttpTransport {
 public:
  HubRecorder(std::unique_ptr<HttpTransport> real, std::vector<std::string>* hub)
      : real_(std::move(real)), hub_(hub) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (request.url.find("registry-1.docker.io") == std::string::npos) return real_->Send(request);
    hub_->push_back(request.url);
    HttpResponse r;
    r.status = 404;
    return r;
  }

 private:
  std::unique_ptr<HttpTransport> real_;
  std::vector<std::string>* hub_;
};

TEST_F(RegistryMirror, AFailingMirrorIsLoggedAndTheRegistryItselfIsTried) {
  std::vector<std::string> hub;
  HttpTransportFactory real = MakeHttpTransportFactory();
  HttpTransportFactory recording = [&](const HttpTransportOptions& o) {
    return std::make_unique<HubRecorder>(real(o), &hub);
  };
  ctx_.http_transport = &recording;
  Json source = {{"repository", "team/app"},
                 {"registry_mirror", {{"host", "127.0.0.1:1"}}}};  // nothing listens there
  auto checked = type_->Check(ctx_, source, nullptr);
  ASSERT_FALSE(checked.ok());  // Docker Hub's stand-in knows no image
  EXPECT_NE(lines_.text().find("the registry mirror 127.0.0.1:1 failed"), std::string::npos)
      << lines_.text();
  EXPECT_NE(lines_.text().find("trying registry-1.docker.io itself"), std::string::npos)
      << lines_.text();
  ASSERT_FALSE(hub.empty());
  EXPECT_EQ(hub.back(), "https://registry-1.docker.io/v2/team/app/tags/list?n=1000");
}

TEST_F(RegistryMirror, AMirrorThatIsNotAHostNameIsRefused) {
  Json source = {{"repository", "busybox"},
                 {"registry_mirror", {{"host", "https://mirror.example.com"}}}};
  auto r = type_->Check(ctx_, source, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("source.registry_mirror.host"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace baton::workers
