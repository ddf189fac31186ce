#include "routes.h"

#include <gtest/gtest.h>

namespace seed {
namespace {

ServiceInfo Info(Role role) { return ServiceInfo{role, "1.2.3", "0"}; }

TEST(Route, ApiRootDescribesTheServiceAsJson) {
  Reply reply = Route(Info(Role::kApi), {"GET", "/"});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "application/json");
  EXPECT_NE(reply.body.find("\"service\":\"seed-api\""), std::string::npos);
  EXPECT_NE(reply.body.find("\"version\":\"1.2.3\""), std::string::npos);
}

TEST(Route, ApiListsTheCatalogWithEscapedNames) {
  Reply reply = Route(Info(Role::kApi), {"GET", "/api/v1/seeds?page=1"});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body.front(), '[');
  EXPECT_NE(reply.body.find("{\"id\":\"basil\",\"name\":\"Genovese basil\",\"days_to_sprout\":7}"),
            std::string::npos);
  EXPECT_NE(reply.body.find("Habanero <hot> & \\\"spicy\\\""), std::string::npos);
}

TEST(Route, ApiAnswersOneSeedAnd404ForAnUnknownOne) {
  EXPECT_EQ(Route(Info(Role::kApi), {"GET", "/api/v1/seeds/pea"}).status, 200);
  Reply missing = Route(Info(Role::kApi), {"GET", "/api/v1/seeds/oak"});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "{\"error\":\"no such seed\"}");
}

TEST(Route, AdminShowsTheCatalogAsAnEscapedHtmlTable) {
  Reply reply = Route(Info(Role::kAdmin), {"GET", "/"});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "text/html; charset=utf-8");
  EXPECT_NE(reply.body.find("<h1>Seed admin</h1>"), std::string::npos);
  EXPECT_NE(reply.body.find("Habanero &lt;hot&gt; &amp; &quot;spicy&quot;"), std::string::npos);
  EXPECT_EQ(reply.body.find("<hot>"), std::string::npos);
}

TEST(Route, UserLinksEverySeedToItsOwnPage) {
  Reply shop = Route(Info(Role::kUser), {"GET", "/"});
  EXPECT_NE(shop.body.find("<a href=\"/seeds/tomato\">San Marzano tomato</a>"), std::string::npos);
  Reply page = Route(Info(Role::kUser), {"GET", "/seeds/tomato"});
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("Sprouts in 10 days."), std::string::npos);
  EXPECT_EQ(Route(Info(Role::kUser), {"GET", "/seeds/oak"}).status, 404);
}

TEST(Route, EveryRoleAnswersTheHealthCheck) {
  for (Role role : {Role::kApi, Role::kAdmin, Role::kUser}) {
    Reply reply = Route(Info(role), {"GET", "/healthz"});
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "ok\n");
  }
}

TEST(Route, RefusesMethodsOtherThanGetAndHead) {
  EXPECT_EQ(Route(Info(Role::kApi), {"POST", "/api/v1/seeds"}).status, 405);
  EXPECT_EQ(Route(Info(Role::kUser), {"HEAD", "/"}).status, 200);
}

}  // namespace
}  // namespace seed
