#include "baton/webapi/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace baton::webapi {
namespace {

Request Make(std::string method, std::string target) {
  Request r;
  r.method = std::move(method);
  r.target = target;
  size_t q = target.find('?');
  r.path = PercentDecode(target.substr(0, q), false).value();
  if (q != std::string::npos) r.query = ParseQuery(target.substr(q + 1)).value();
  return r;
}

Response Echo(Request& r) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : r.params) params[k] = v;
  return Response::Json(200, nlohmann::json{{"params", params}, {"principal", r.principal}});
}

nlohmann::json Body(const Response& r) { return nlohmann::json::parse(r.body); }

TEST(Router, BindsEveryNamedSegmentOfANestedPattern) {
  Router router;
  router.Add("GET", "/api/v1/teams/:team/pipelines/:pipeline/jobs/:job/builds", Echo);
  Request req = Make("GET", "/api/v1/teams/main/pipelines/my%20app/jobs/unit/builds");
  Response res = router.Dispatch(req);
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(Body(res)["params"],
            (nlohmann::json{{"team", "main"}, {"pipeline", "my app"}, {"job", "unit"}}));
}

TEST(Router, EncodedSlashStaysInsideOneParameter) {
  Router router;
  router.Add("GET", "/refs/:ref", Echo);
  Request req = Make("GET", "/refs/feature%2Fx");
  Response res = router.Dispatch(req);
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(Body(res)["params"]["ref"], "feature/x");
}

TEST(Router, LiteralSegmentWinsOverParameter) {
  Router router;
  router.Add("GET", "/builds/:id", [](Request&) { return Response::Text(200, "by id"); });
  router.Add("GET", "/builds/latest", [](Request&) { return Response::Text(200, "latest"); });
  Request a = Make("GET", "/builds/latest");
  Request b = Make("GET", "/builds/42");
  EXPECT_EQ(router.Dispatch(a).body, "latest");
  EXPECT_EQ(router.Dispatch(b).body, "by id");
}

TEST(Router, RestParameterTakesTheRemainingPath) {
  Router router;
  router.Add("GET", "/ui/*file", Echo);
  Request req = Make("GET", "/ui/js/app.js");
  EXPECT_EQ(Body(router.Dispatch(req))["params"]["file"], "js/app.js");
  Request root = Make("GET", "/ui/");
  EXPECT_EQ(Body(router.Dispatch(root))["params"]["file"], "");
}

TEST(Router, UnknownPathIsA404JsonError) {
  Router router;
  router.Add("GET", "/a/:x", Echo);
  Request req = Make("GET", "/a/b/c");
  Response res = router.Dispatch(req);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(Body(res)["error"], "not found");
  EXPECT_EQ(Body(res)["detail"], "no route for /a/b/c");
}

TEST(Router, KnownPathWithAnotherMethodIsA405ListingAllowedMethods) {
  Router router;
  router.Add("GET", "/jobs/:job", Echo);
  router.Add("PUT", "/jobs/:job", Echo);
  Request req = Make("DELETE", "/jobs/x");
  Response res = router.Dispatch(req);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.headers.Get("allow"), "GET, PUT");
}

TEST(Router, HeadFallsBackToTheGetRoute) {
  Router router;
  router.Add("GET", "/info", Echo);
  Request req = Make("HEAD", "/info");
  EXPECT_EQ(router.Dispatch(req).status, 200);
}

TEST(Router, HandlerExceptionBecomesA500JsonError) {
  Router router;
  router.Add("GET", "/boom", [](Request&) -> Response { throw std::runtime_error("kaboom"); });
  Request req = Make("GET", "/boom");
  Response res = router.Dispatch(req);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(Body(res)["detail"], "kaboom");
}

TEST(Router, TokenRouteWithoutValidatorOrTokenIs401WithBearerChallenge) {
  Router router;
  router.Add("GET", "/secret", Echo, Access::kToken);
  Request req = Make("GET", "/secret");
  Response res = router.Dispatch(req);
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.headers.Get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(Body(res)["error"], "unauthorized");
}

TEST(Router, TokenRouteGivesHandlerThePrincipalOfAValidToken) {
  Router router;
  router.Add("GET", "/secret", Echo, Access::kToken);
  router.SetTokenValidator([](std::string_view t) -> std::optional<std::string> {
    if (t == "good") return "alice";
    return std::nullopt;
  });
  Request good = Make("GET", "/secret");
  good.headers.Set("authorization", "bearer good");
  Response ok = router.Dispatch(good);
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(Body(ok)["principal"], "alice");
  Request bad = Make("GET", "/secret");
  bad.headers.Set("Authorization", "Bearer bad");
  EXPECT_EQ(router.Dispatch(bad).status, 401);
}

TEST(JsonErrors, StatusCodesMapToHttpStatuses) {
  Response r = JsonError(NotFound("no pipeline 'x'"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["detail"], "no pipeline 'x'");
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), 403);
}

}  // namespace
}  // namespace baton::webapi
