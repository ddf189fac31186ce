// Browser sessions: POST /api/v1/session trades an API token for an HttpOnly, SameSite=Strict
// session cookie; GET tells the page who it is (and its CSRF token); DELETE logs out.
//
// A session is an API token of its own (name "web-session", expiring after a week) so it
// survives a server restart and is revoked like any token; the cookie holds it, and scripts in
// the page never see it. Writes made with the cookie must carry X-CSRF-Token, an HMAC of the
// session token that only the server (and the page it told) knows; SameSite=Strict already
// keeps other sites' forms out, the header keeps out anything SameSite misses.
#include "api_context.h"
#include "baton/common/clock.h"
#include "baton/webapi/auth.h"
#include "baton/webapi/webhooks.h"

namespace baton::webapi::api {
namespace {

constexpr std::string_view kCookie = "baton_session";
constexpr auto kSessionLifetime = std::chrono::hours(24 * 7);

// The value of cookie `name` in a `Cookie:` header ("a=1; baton_session=xyz").
std::optional<std::string> CookieValue(const Request& req, std::string_view name) {
  auto header = req.headers.Get("Cookie");
  if (!header) return std::nullopt;
  std::string_view rest = *header;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      return std::string(pair.substr(eq + 1));
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return std::nullopt;
}

std::string CsrfToken(std::string_view session_token) {
  return HmacSha256Hex(session_token, "baton-csrf-v1");
}

bool IsSafeMethod(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

// "Secure" only when users reach the server over https (a plain-http quickstart would
// otherwise never get its cookie back).
std::string CookieHeader(const Context& ctx, std::string_view value, long max_age) {
  std::string cookie = std::string(kCookie) + "=" + std::string(value) +
                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
  if (ctx.options.external_url.rfind("https://", 0) == 0) cookie += "; Secure";
  return cookie;
}

Result<runner::ApiToken> SessionOf(Context& ctx, const Request& req) {
  auto cookie = CookieValue(req, kCookie);
  if (!cookie || cookie->empty()) return PermissionDenied("no session cookie");
  return ctx.store.AuthenticateApiToken(*cookie, ctx.Now());
}

Json SessionJson(const runner::ApiToken& session, std::string_view plain) {
  return {{"authenticated", true},
          {"team", session.team},
          {"csrf_token", CsrfToken(plain)},
          {"expires_at", session.expires_at ? FormatRfc3339(*session.expires_at) : ""}};
}

// POST /api/v1/session {"token": "<API token>"}: a new session for the token's team.
Response Login(Context& ctx, Request& req) {
  Json body = Json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
    return JsonError(400, "bad request", "expected a JSON body {\"token\": \"<API token>\"}");
  }
  auto who = ctx.store.AuthenticateApiToken(body["token"].get<std::string>(), ctx.Now());
  if (!who.ok()) {
    return JsonError(401, "unauthorized",
                     "that token is not valid here (quickstart prints the admin token and keeps "
                     "it in <data-dir>/admin-token)");
  }
  auto plain = GenerateToken();
  if (!plain.ok()) return JsonError(plain.status());
  auto session =
      ctx.store.CreateApiToken(who->team, "web-session", *plain, ctx.Now() + kSessionLifetime);
  if (!session.ok()) return JsonError(session.status());
  Response r = Response::Json(200, SessionJson(*session, *plain));
  r.headers.Add(
      "Set-Cookie",
      CookieHeader(ctx, *plain, static_cast<long>(kSessionLifetime / std::chrono::seconds(1))));
  return r;
}

// GET /api/v1/session: who the cookie is, or {"authenticated": false}; never 401, so a page
// can ask without an error in the console.
Response WhoAmI(Context& ctx, Request& req) {
  auto session = SessionOf(ctx, req);
  if (!session.ok()) return Response::Json(200, Json{{"authenticated", false}});
  return Response::Json(200, SessionJson(*session, *CookieValue(req, kCookie)));
}

// DELETE /api/v1/session: revokes the session and clears the cookie (a CSRF-checked write).
Response Logout(Context& ctx, Request& req) {
  auto session = SessionOf(ctx, req);
  if (session.ok()) {
    if (Status s = ctx.store.RevokeApiToken(session->id); !s.ok()) return JsonError(s);
  }
  Response r = Response::Json(200, Json{{"authenticated", false}});
  r.headers.Add("Set-Cookie", CookieHeader(ctx, "", 0));
  return r;
}

// The router's SessionAuthenticator: the cookie's principal; writes need X-CSRF-Token.
std::optional<std::string> AuthenticateSession(Context& ctx, const Request& req,
                                               std::optional<Response>& refusal) {
  auto cookie = CookieValue(req, kCookie);
  if (!cookie || cookie->empty()) return std::nullopt;
  auto session = ctx.store.AuthenticateApiToken(*cookie, ctx.Now());
  if (!session.ok()) return std::nullopt;  // expired or revoked: anonymous, then maybe 401
  if (!IsSafeMethod(req.method) &&
      !ConstantTimeEquals(req.headers.Get("X-CSRF-Token").value_or(""), CsrfToken(*cookie))) {
    refusal = JsonError(403, "forbidden",
                        "a write with a session cookie needs the X-CSRF-Token header that "
                        "GET /api/v1/session gives; reload the page");
    return std::nullopt;
  }
  return session->team + ":" + session->name;
}

}  // namespace

void AddSessionRoutes(Router& router, std::shared_ptr<Context> ctx) {
  router.SetSessionAuthenticator([ctx](const Request& req, std::optional<Response>& refusal) {
    return AuthenticateSession(*ctx, req, refusal);
  });
  router.Add("POST", "/api/v1/session", [ctx](Request& req) { return Login(*ctx, req); });
  router.Add("GET", "/api/v1/session", [ctx](Request& req) { return WhoAmI(*ctx, req); });
  router.Add(
      "DELETE", "/api/v1/session", [ctx](Request& req) { return Logout(*ctx, req); },
      Access::kToken);
}

}  // namespace baton::webapi::api
