// registry-image check against Debian's docker-registry on 127.0.0.1 (tests/fakes/registry-
// server): plain http with `insecure`, TLS with a CA given in source.ca_certs and htpasswd
// basic auth. Digests are compared with what skopeo reads from the same registry.
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
using baton::testing::RunCommand;
using baton::testing::SkopeoDigest;

class RegistryCheck : public baton::testing::RegistryResourceTest {
 protected:
  // Builds a busybox image whose env differs by `marker` and pushes it as repository:tag.
  void PushImage(const RegistryServer& registry, const std::string& repository,
                 const std::string& tag, const std::string& marker) {
    ImageLayout layout(dir_ / ("image-" + marker));
    layout.NewBusyboxImage("t");
    layout.Configure("t", {"MARKER=" + marker}, "");
    layout.Push("t", registry, repository, tag);
  }

  // Pushes one such image (the same one again for a marker seen before) under each of `tags`;
  // its digest.
  std::string PushImageAs(const RegistryServer& registry, const std::string& repository,
                          const std::string& marker, const std::vector<std::string>& tags) {
    std::unique_ptr<ImageLayout>& layout = layouts_[marker];
    if (!layout) {
      layout = std::make_unique<ImageLayout>(dir_ / ("image-" + marker));
      layout->NewBusyboxImage("t");
      layout->Configure("t", {"MARKER=" + marker}, "");
    }
    for (const std::string& tag : tags) layout->Push("t", registry, repository, tag);
    return SkopeoDigest(registry, repository + ":" + tags.front());
  }

  Result<std::vector<Json>> Check(const Json& source, const Json& from = nullptr) {
    return type_->Check(ctx_, source, from);
  }

  std::map<std::string, std::unique_ptr<ImageLayout>> layouts_;  // by marker
};

Json Version(const std::string& tag, const std::string& digest) {
  return Json{{"tag", tag}, {"digest", digest}};
}

// Records the URLs asked for and answers each with 404, so the tests see where an image is
// looked for without a network.
class RecordingTransport : public HttpTransport {
 public:
  explicit RecordingTransport(std::vector<std::string>* urls) : urls_(urls) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    urls_->push_back(request.url);
    HttpResponse r;
    r.status = 404;
    return r;
  }

 private:
  std::vector<std::string>* urls_;
};

// The manifest URL a check asks for with `source`, or the check's error.
std::string ManifestUrl(const Json& source) {
  std::vector<std::string> urls;
  HttpTransportFactory record = [&](const HttpTransportOptions&) {
    return std::make_unique<RecordingTransport>(&urls);
  };
  ResourceContext ctx;
  baton::testing::OutputLines lines;
  ctx.output = &lines;
  ctx.http_transport = &record;
  auto r = MakeBuiltinResourceType("registry-image")->Check(ctx, source, nullptr);
  if (urls.size() < 2) return r.status().message();
  return urls[1];
}

TEST(RegistryImageSource, LooksForImagesWhereDockerDoes) {
  auto at = [](const std::string& repository) {
    return ManifestUrl({{"repository", repository}, {"tag", "latest"}});
  };
  EXPECT_EQ(at("busybox"), "https://registry-1.docker.io/v2/library/busybox/manifests/latest");
  EXPECT_EQ(at("concourse/git-resource"),
            "https://registry-1.docker.io/v2/concourse/git-resource/manifests/latest");
  EXPECT_EQ(at("docker.io/library/golang"),
            "https://registry-1.docker.io/v2/library/golang/manifests/latest");
  EXPECT_EQ(at("ghcr.io/o/app"), "https://ghcr.io/v2/o/app/manifests/latest");
  EXPECT_EQ(at("127.0.0.1:5000/team/app"), "https://127.0.0.1:5000/v2/team/app/manifests/latest");
  EXPECT_EQ(at("localhost/app"), "https://localhost/v2/app/manifests/latest");
  EXPECT_NE(at("golang:1.22").find("put it in source.tag"), std::string::npos);
  EXPECT_NE(at("Upper/Case").find("lower case"), std::string::npos);
  EXPECT_NE(at("").find("is empty"), std::string::npos);
}

TEST(RegistryImageSource, AppliesTheVariantToTheTag) {
  auto url = [](const Json& more) {
    Json source = {{"repository", "a.io/app"}};
    source.update(more);
    return ManifestUrl(source);
  };
  // Without a tag, the variant's version tags are looked for among all.
  EXPECT_EQ(url({{"variant", "alpine"}}), "https://a.io/v2/app/tags/list?n=1000");
  EXPECT_EQ(url({{"tag", "1.2"}, {"variant", "alpine"}}),
            "https://a.io/v2/app/manifests/1.2-alpine");
  EXPECT_NE(url({{"username", "u"}}).find("go together"), std::string::npos);
}

TEST_F(RegistryCheck, FindsTheDigestBehindTheTagOverPlainHttpAndFollowsItWhenRepushed) {
  RegistryServer registry(dir_ / "registry");
  PushImage(registry, "team/app", "latest", "one");
  Json source = {
      {"repository", registry.host() + "/team/app"}, {"tag", "latest"}, {"insecure", true}};
  size_t pushed = ReadFile(registry.log_path()).size();  // skopeo's requests come before
  auto first = Check(source);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::string log = ReadFile(registry.log_path()).substr(pushed);  // before skopeo reads it
  std::string digest = SkopeoDigest(registry, "team/app:latest");
  EXPECT_EQ(*first, (std::vector<Json>{Json{{"digest", digest}}}));
  // HEAD answers with Docker-Content-Digest: no GET of the manifest (a pull on Docker Hub).
  EXPECT_NE(log.find("\"HEAD /v2/team/app/manifests/latest"), std::string::npos) << log;
  EXPECT_EQ(log.find("\"GET /v2/team/app/manifests/latest"), std::string::npos) << log;

  PushImage(registry, "team/app", "latest", "two");
  auto second = Check(source);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->size(), 1u);
  EXPECT_NE((*second)[0]["digest"], digest);
  EXPECT_EQ((*second)[0]["digest"], SkopeoDigest(registry, "team/app:latest"));
}

// Without source.tag, as registry-image: the tags that are semantic versions, one a digest (the
// release and the most specific tag naming it), lowest first, then `latest` when it names an
// image no version tag does; pre-releases only when asked for; other variants' tags never.
TEST_F(RegistryCheck, WithoutATagFindsTheSemanticVersionsLowestFirst) {
  RegistryServer registry(dir_ / "registry");
  const std::string one = PushImageAs(registry, "team/app", "one", {"1.0.0"});
  const std::string two = PushImageAs(registry, "team/app", "two", {"1", "1.2", "v1.2.0"});
  const std::string rc = PushImageAs(registry, "team/app", "rc", {"2.0.0-rc.1"});
  const std::string alpine = PushImageAs(registry, "team/app", "alpine", {"1.2.0-alpine"});
  const std::string nightly = PushImageAs(registry, "team/app", "nightly", {"latest", "nightly"});
  Json source = {{"repository", registry.host() + "/team/app"}, {"insecure", true}};
  auto found = Check(source);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, (std::vector<Json>{Version("1.0.0", one), Version("v1.2.0", two),
                                       Version("latest", nightly)}));
  EXPECT_NE(lines_.text().find("3 version(s) from 8 tags, newest latest"), std::string::npos)
      << lines_.text();
  // get writes the version's tag, and names the version as the check did.
  auto got = type_->Get(ctx_, source, Version("v1.2.0", two), {{"skip_download", true}},
                        (dir_ / "got").string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->version, Version("v1.2.0", two));
  EXPECT_EQ(ReadFile(dir_ / "got" / "tag"), "v1.2.0");
  EXPECT_EQ(ReadFile(dir_ / "got" / "digest"), two);

  source["pre_releases"] = true;
  auto with_rc = Check(source);
  ASSERT_TRUE(with_rc.ok()) << with_rc.status().ToString();
  EXPECT_EQ(*with_rc, (std::vector<Json>{Version("1.0.0", one), Version("v1.2.0", two),
                                         Version("2.0.0-rc.1", rc), Version("latest", nightly)}));

  source["semver_constraint"] = ">= 1.1";  // no pre-release then, and no `latest`
  auto constrained = Check(source);
  ASSERT_TRUE(constrained.ok()) << constrained.status().ToString();
  EXPECT_EQ(*constrained, (std::vector<Json>{Version("v1.2.0", two)}));

  Json variant = {
      {"repository", registry.host() + "/team/app"}, {"variant", "alpine"}, {"insecure", true}};
  auto alpine_only = Check(variant);
  ASSERT_TRUE(alpine_only.ok()) << alpine_only.status().ToString();
  EXPECT_EQ(*alpine_only, (std::vector<Json>{Version("1.2.0-alpine", alpine)}));

  PushImageAs(registry, "team/app", "two", {"latest"});  // `latest` now names 1.2.0's image
  auto moved = Check({{"repository", registry.host() + "/team/app"}, {"insecure", true}});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, (std::vector<Json>{Version("1.0.0", one), Version("v1.2.0", two)}));
}

// From the version checked last, as registry-image: the tags of earlier versions are not asked
// about again, so a patch of an older line pushed after a newer version is not reported as the
// newest. A version whose tag was moved to another image is no such mark.
TEST_F(RegistryCheck, FromTheVersionCheckedLastOnlyLaterVersionsAreAskedAbout) {
  RegistryServer registry(dir_ / "registry");
  const std::string one = PushImageAs(registry, "team/app", "one", {"1.0.0"});
  const std::string two = PushImageAs(registry, "team/app", "two", {"1.2.0"});
  const std::string three = PushImageAs(registry, "team/app", "three", {"2.0.0"});
  const std::string patch = PushImageAs(registry, "team/app", "patch", {"1.0.1"});
  Json source = {{"repository", registry.host() + "/team/app"}, {"insecure", true}};
  size_t before = ReadFile(registry.log_path()).size();
  auto later = Check(source, Version("1.2.0", two));
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  std::string log = ReadFile(registry.log_path()).substr(before);
  EXPECT_EQ(*later, (std::vector<Json>{Version("1.2.0", two), Version("2.0.0", three)}));
  EXPECT_EQ(log.find("/manifests/1.0.1"), std::string::npos) << log;
  EXPECT_EQ(log.find("/manifests/1.0.0"), std::string::npos) << log;

  auto all = Check(source);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, (std::vector<Json>{Version("1.0.0", one), Version("1.0.1", patch),
                                     Version("1.2.0", two), Version("2.0.0", three)}));

  auto moved = Check(source, Version("1.2.0", one));  // 1.2.0 names another image now
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, *all);
}

// source.tag_regex: every tag the regex finds, in the registry's order, as {tag, digest}.
TEST_F(RegistryCheck, ATagRegexReportsTheTagsItFinds) {
  RegistryServer registry(dir_ / "registry");
  const std::string a = PushImageAs(registry, "team/app", "a", {"build-7", "main-2"});
  const std::string b = PushImageAs(registry, "team/app", "b", {"build-12"});
  Json source = {{"repository", registry.host() + "/team/app"},
                 {"tag_regex", "^build-[0-9]+$"},
                 {"insecure", true}};
  auto found = Check(source);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, (std::vector<Json>{Version("build-12", b), Version("build-7", a)}));
  EXPECT_NE(lines_.text().find("2 of 3 tags match tag_regex `^build-[0-9]+$`"), std::string::npos)
      << lines_.text();
}

// With created_at_sort, the tags tag_regex finds are ordered by when their image was made.
TEST_F(RegistryCheck, CreatedAtSortOrdersTheTagsByTheirImagesTime) {
  RegistryServer registry(dir_ / "registry");
  auto push = [&](const std::string& marker, const std::string& tag, const std::string& created) {
    auto& layout = layouts_[marker];
    layout = std::make_unique<ImageLayout>(dir_ / ("image-" + marker));
    layout->NewBusyboxImage("t");
    layout->Configure("t", {"MARKER=" + marker}, "");
    layout->SetCreated("t", created);
    layout->Push("t", registry, "team/app", tag);
    return SkopeoDigest(registry, "team/app:" + tag);
  };
  const std::string a = push("a", "build-a", "2026-12-06T10:00:00.5+01:00");  // 09:00:00.5Z
  const std::string b = push("b", "build-b", "2026-12-06T09:00:00.25Z");
  const std::string c = push("c", "build-c", "2026-12-05T23:59:59Z");
  Json source = {
      {"repository", registry.host() + "/team/app"}, {"tag_regex", "^build-"}, {"insecure", true}};
  auto by_name = Check(source);
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_EQ(*by_name, (std::vector<Json>{Version("build-a", a), Version("build-b", b),
                                         Version("build-c", c)}));
  source["created_at_sort"] = true;
  auto by_time = Check(source);
  ASSERT_TRUE(by_time.ok()) << by_time.status().ToString();
  EXPECT_EQ(*by_time, (std::vector<Json>{Version("build-c", c), Version("build-b", b),
                                         Version("build-a", a)}));
}

TEST(RegistryImageSource, SaysWhatIsWrongWithHowTagsAreFound) {
  auto error = [](const Json& more) {
    Json source = {{"repository", "a.io/app"}};
    source.update(more);
    return ManifestUrl(source);
  };
  EXPECT_NE(error({{"tag_regex", "build-("}}).find("source.tag_regex `build-(` is not a regular"),
            std::string::npos);
  EXPECT_NE(error({{"tag_regex", "b"}, {"tag", "1"}}).find("exclude each other"),
            std::string::npos);
  EXPECT_NE(error({{"created_at_sort", true}}).find("set tag_regex"), std::string::npos);
  EXPECT_NE(error({{"semver_constraint", ">= banana"}}).find("source.semver_constraint: "),
            std::string::npos)
      << error({{"semver_constraint", ">= banana"}});
  EXPECT_NE(error({{"pre_releases", "yes"}}).find("source.pre_releases"), std::string::npos);
}

TEST_F(RegistryCheck, NamesTheTagTheRegistryDoesNotKnow) {
  RegistryServer registry(dir_ / "registry");
  PushImage(registry, "team/app", "latest", "one");
  auto r =
      Check({{"repository", registry.host() + "/team/app"}, {"tag", "nope"}, {"insecure", true}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("`nope`"), std::string::npos) << m;
  EXPECT_NE(m.find("MANIFEST_UNKNOWN"), std::string::npos) << m;
  EXPECT_NE(m.find("source.tag"), std::string::npos) << m;
}

TEST_F(RegistryCheck, APlainHttpRegistryWithoutInsecureSaysToSetIt) {
  RegistryServer registry(dir_ / "registry");
  auto r = Check({{"repository", registry.host() + "/team/app"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("source.insecure"), std::string::npos)
      << r.status().message();
}

TEST_F(RegistryCheck, UsesBasicAuthOverTlsWithTheCaFromSource) {
  RegistryServer registry(dir_ / "registry", RegistryServerOptions{true, "ci-bot", "pa55-w0rd-x"});
  PushImage(registry, "team/app", "v1", "one");
  Json source = {{"repository", registry.host() + "/team/app"},
                 {"tag", "v1"},
                 {"ca_certs", {registry.ca_pem()}},
                 {"username", "ci-bot"},
                 {"password", "pa55-w0rd-x"}};
  auto r = Check(source);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<Json>{Json{{"digest", SkopeoDigest(registry, "team/app:v1")}}}));
  EXPECT_EQ(lines_.text().find("pa55-w0rd-x"), std::string::npos) << lines_.text();

  Json insecure = source;  // `insecure` skips verification instead of trusting the CA
  insecure.erase("ca_certs");
  insecure["insecure"] = true;
  auto skipped = Check(insecure);
  ASSERT_TRUE(skipped.ok()) << skipped.status().ToString();
  EXPECT_EQ(*skipped, *r);
}

TEST_F(RegistryCheck, RefusedCredentialsAndAnUntrustedCertificateAreClearErrors) {
  RegistryServer registry(dir_ / "registry", RegistryServerOptions{true, "ci-bot", "pa55-w0rd-x"});
  Json source = {{"repository", registry.host() + "/team/app"}, {"ca_certs", {registry.ca_pem()}}};

  auto anonymous = Check(source);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(anonymous.status().message().find("baton-test-realm"), std::string::npos)
      << anonymous.status().message();
  EXPECT_NE(anonymous.status().message().find("source.username"), std::string::npos);

  source["username"] = "ci-bot";
  source["password"] = "wrong-s3cret-word";
  auto wrong = Check(source);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(wrong.status().message().find("HTTP 401"), std::string::npos)
      << wrong.status().message();
  EXPECT_EQ(wrong.status().message().find("wrong-s3cret-word"), std::string::npos);

  source.erase("ca_certs");  // the system's CAs do not know the test's certificate
  auto untrusted = Check(source);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(untrusted.status().message().find("source.ca_certs"), std::string::npos)
      << untrusted.status().message();
}

// Docker Hub's answer to pulls past its rate limit, in front of the real registry (which never
// limits): 429 with its JSON error (none for a HEAD) and `retry_after`, for every manifest.
class RateLimiter : public HttpTransport {
 public:
  RateLimiter(std::unique_ptr<HttpTransport> real, const std::string* retry_after)
      : real_(std::move(real)), retry_after_(retry_after) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (request.url.find("/manifests/") == std::string::npos) return real_->Send(request);
    HttpResponse r;
    r.status = 429;
    r.headers.emplace_back("Content-Type", "application/json");
    if (!retry_after_->empty()) r.headers.emplace_back("Retry-After", *retry_after_);
    if (request.method != "HEAD") {
      r.body = R"({"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your )"
               R"(pull rate limit."}]})";
    }
    return r;
  }

 private:
  std::unique_ptr<HttpTransport> real_;
  const std::string* retry_after_;
};

TEST_F(RegistryCheck, ARateLimitNamesTheStageTheRegistrysMessageAndWhenToRetry) {
  RegistryServer registry(dir_ / "registry");
  PushImage(registry, "team/app", "latest", "one");
  std::string retry_after = "3600";
  HttpTransportFactory real = MakeHttpTransportFactory();
  HttpTransportFactory limited = [&](const HttpTransportOptions& o) {
    return std::make_unique<RateLimiter>(real(o), &retry_after);
  };
  ctx_.http_transport = &limited;
  Json source = {{"repository", registry.host() + "/team/app"}, {"insecure", true}};

  auto seconds = Check(source);
  ASSERT_FALSE(seconds.ok());
  EXPECT_EQ(seconds.status().code(), StatusCode::kUnavailable);
  const std::string& m = seconds.status().message();
  EXPECT_NE(m.find("fetching the manifest of `latest` from " + registry.host() + "/team/app"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("HTTP 429 (TOOMANYREQUESTS: You have reached your pull rate limit.)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("rate limited by the registry; retry after 3600 seconds"), std::string::npos)
      << m;

  retry_after = "Thu, 03 Dec 2026 09:00:00 GMT";  // or an HTTP date
  auto date = Check(source);
  ASSERT_FALSE(date.ok());
  EXPECT_NE(date.status().message().find("retry after Thu, 03 Dec 2026 09:00:00 GMT ("),
            std::string::npos)
      << date.status().message();

  retry_after = "";
  auto unsaid = Check(source);
  ASSERT_FALSE(unsaid.ok());
  EXPECT_NE(unsaid.status().message().find("rate limited by the registry; retry later"),
            std::string::npos)
      << unsaid.status().message();
}

}  // namespace
}  // namespace baton::workers
