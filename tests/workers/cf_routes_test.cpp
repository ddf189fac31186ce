// Routes of a `cf` push: the default route unless the manifest says routes, no-route or
// random-route (as `cf push` does); the stand-in maps only what it is asked for.
#include "workers/cf_test_fixture.h"

namespace baton::workers::cftest {
namespace {

using CfRoutes = CfResource;

TEST_F(CfRoutes, AManifestWithoutRoutesGetsTheDefaultRouteAndAnswers) {
  auto pushed = Put(WriteApp("shop", "default route"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(Metadata(*pushed, "route"), "shop.apps.baton.local");
  ASSERT_EQ(cf_->Apps().size(), 1u);
  EXPECT_EQ(cf_->Apps()[0].routes, std::vector<std::string>{"shop.apps.baton.local"});
  EXPECT_EQ(Get(AppUrl("shop") + "/"), "200 default route\n");
}

TEST_F(CfRoutes, RoutesAreMappedAsWritten) {
  auto pushed = Put(WriteApp("shop", "x", "python3 app.py",
                             "  routes:\n  - route: store.apps.baton.local\n"
                             "  - route: apps.baton.local\n"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(Metadata(*pushed, "route"), "store.apps.baton.local");
  ASSERT_EQ(cf_->Apps().size(), 1u);
  EXPECT_EQ(cf_->Apps()[0].routes,
            (std::vector<std::string>{"store.apps.baton.local", "apps.baton.local"}));
  EXPECT_EQ(Get(AppUrl("shop") + "/"), "200 x\n");
}

TEST_F(CfRoutes, NoRouteLeavesTheAppWithoutRoutes) {
  auto pushed = Put(WriteApp("worker", "x", "python3 app.py", "  no-route: true\n"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(Metadata(*pushed, "route"), "");
  ASSERT_EQ(cf_->Apps().size(), 1u);
  EXPECT_TRUE(cf_->Apps()[0].routes.empty());
  EXPECT_EQ(cf_->Apps()[0].state, "STARTED");
}

TEST_F(CfRoutes, RandomRouteGetsOneRandomHost) {
  auto pushed = Put(WriteApp("shop", "x", "python3 app.py", "  random-route: true\n"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  ASSERT_EQ(cf_->Apps().size(), 1u);
  ASSERT_EQ(cf_->Apps()[0].routes.size(), 1u);
  std::string route = cf_->Apps()[0].routes[0];
  EXPECT_EQ(route.rfind("shop-", 0), 0u) << route;
  EXPECT_NE(route, "shop.apps.baton.local");
  EXPECT_EQ(Metadata(*pushed, "route"), route);
}

TEST_F(CfRoutes, ARouteOnAnUnknownDomainFailsTheManifestJob) {
  auto pushed =
      Put(WriteApp("shop", "x", "python3 app.py", "  routes:\n  - route: shop.example.org\n"));
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("cf put: apply manifest failed: CF-UnprocessableEntity: "
                                           "For application 'shop': The route "
                                           "'shop.example.org' did not match any existing "
                                           "domains."),
            std::string::npos)
      << pushed.status().message();
}

class CfPaging : public CfResource {
 protected:
  void Configure(FakeCfOptions& o) override { o.per_page = 1; }
};

TEST_F(CfPaging, EveryPageOfAListIsRead) {
  auto pushed = Put(WriteApp("shop", "x", "python3 app.py",
                             "  routes:\n  - route: store.apps.baton.local\n"
                             "  - route: apps.baton.local\n"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_NE(sink_.text().find("shop is STARTED at store.apps.baton.local, apps.baton.local"),
            std::string::npos)
      << sink_.text();
}

}  // namespace
}  // namespace baton::workers::cftest
