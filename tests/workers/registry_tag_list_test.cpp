// RegistryClient::ListTags against a registry that pages its tag list, as Docker Hub, GHCR and
// Harbor do (the distribution spec's `n` and `Link: <...>; rel="next"`): a stand-in transport
// that answers the exact requests a paging registry would get and checks each one. Debian's
// docker-registry (distribution 2.8) answers every tag at once, so the real-registry tests
// (registry_put_test.cpp) cannot exercise the pages.
#include <gtest/gtest.h>

#include <map>

#include "baton/workers/http_transport.h"
#include "resources/registry_image/image_source.h"
#include "resources/registry_image/registry_client.h"

namespace baton::workers::resources {
namespace {

// Answers GETs by exact URL from `pages`; anything else is a 599 the test sees. Records every URL.
class PagingRegistry : public HttpTransport {
 public:
  PagingRegistry(std::map<std::string, HttpResponse> pages, std::vector<std::string>* asked)
      : pages_(std::move(pages)), asked_(asked) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    asked_->push_back(request.method + " " + request.url);
    auto it = pages_.find(request.url);
    if (request.method != "GET" || it == pages_.end()) return HttpResponse{599, {}, "unexpected"};
    return it->second;
  }

 private:
  std::map<std::string, HttpResponse> pages_;
  std::vector<std::string>* asked_;
};

HttpResponse Page(const std::string& tags_json, const std::string& link = "") {
  HttpResponse r{200, {{"Content-Type", "application/json"}}, ""};
  r.body = R"({"name":"team/app","tags":)" + tags_json + "}";
  if (!link.empty()) r.headers.emplace_back("Link", link);
  return r;
}

class RegistryTagList : public ::testing::Test {
 protected:
  Result<std::vector<std::string>> List(std::map<std::string, HttpResponse> pages, int page_size) {
    pages["https://registry.test/v2/"] = HttpResponse{200, {}, "{}"};
    transports_ = [this, pages](const HttpTransportOptions&) {
      return std::make_unique<PagingRegistry>(pages, &asked_);
    };
    auto source = ParseImageSource(Json{{"repository", "registry.test/team/app"}}, "test");
    EXPECT_TRUE(source.ok());
    RegistryClient client(transports_, *source, "registry-image put");
    return client.ListTags(page_size);
  }

  HttpTransportFactory transports_;
  std::vector<std::string> asked_;
};

TEST_F(RegistryTagList, FollowsTheNextLinksRelativeAndAbsoluteToTheLastPage) {
  const std::string base = "https://registry.test/v2/team/app/tags/list";
  auto tags = List(
      {
          {base + "?n=2",
           Page(R"(["1.0.0","1.1.0"])", R"(</v2/team/app/tags/list?n=2&last=1.1.0>; rel="next")")},
          {base + "?n=2&last=1.1.0",
           Page(R"(["2.0.0","latest"])", "<" + base + R"(?n=2&last=latest>; rel="next")")},
          {base + "?n=2&last=latest", Page(R"(["nightly"])")},
      },
      2);
  ASSERT_TRUE(tags.ok()) << tags.status().ToString();
  EXPECT_EQ(*tags, (std::vector<std::string>{"1.0.0", "1.1.0", "2.0.0", "latest", "nightly"}));
  EXPECT_EQ(asked_, (std::vector<std::string>{
                        "GET https://registry.test/v2/", "GET " + base + "?n=2",
                        "GET " + base + "?n=2&last=1.1.0", "GET " + base + "?n=2&last=latest"}));
}

TEST_F(RegistryTagList, ARepositoryNothingWasPushedToHasNoTagsAndNullTagsAreNone) {
  const std::string base = "https://registry.test/v2/team/app/tags/list?n=1000";
  HttpResponse unknown{404, {{"Content-Type", "application/json"}}, ""};
  unknown.body = R"({"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]})";
  auto none = List({{base, unknown}}, 1000);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  auto null_tags = List({{base, Page("null")}}, 1000);
  ASSERT_TRUE(null_tags.ok()) << null_tags.status().ToString();
  EXPECT_TRUE(null_tags->empty());
}

TEST_F(RegistryTagList, RefusesAnotherHostsPageAndAnAnswerThatIsNotATagList) {
  const std::string base = "https://registry.test/v2/team/app/tags/list?n=1000";
  auto foreign = List(
      {{base, Page(R"(["a"])", R"(<https://elsewhere.test/v2/x/tags/list?last=a>; rel="next")")}},
      1000);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("next page of tags is on another host"),
            std::string::npos)
      << foreign.status().message();
  EXPECT_EQ(asked_.size(), 2u);  // the foreign page was not asked for

  auto garbled = List({{base, HttpResponse{200, {}, R"({"tags":"1.0"})"}}}, 1000);
  ASSERT_FALSE(garbled.ok());
  EXPECT_NE(garbled.status().message().find("not a tag list"), std::string::npos)
      << garbled.status().message();
  auto refused =
      List({{base, HttpResponse{404, {}, R"({"errors":[{"code":"NOT_FOUND"}]})"}}}, 1000);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("listing the tags of registry.test/team/app"),
            std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace baton::workers::resources
