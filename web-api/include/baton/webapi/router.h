// Router: maps a method and a path pattern to a handler, with ":name" parameters and auth.
//
//   Router router;
//   router.Add("GET", "/api/v1/teams/:team/pipelines/:pipeline", GetPipeline, Access::kToken);
//   router.SetTokenValidator(validator);   // see auth.h
//
// Patterns are '/'-separated segments: a literal, ":name" (one non-empty segment, percent-decoded,
// stored in Request::params) or a final "*name" (the rest of the path, possibly empty). Literal
// segments win over parameters when several routes match. Unknown paths give 404, known paths
// with another method 405 (with an Allow header), HEAD falls back to GET. All errors use the
// JsonError shape. Handler exceptions become a JSON error without a stack: 400 for errors reading
// client input (nlohmann::json exceptions, std::invalid_argument from a number conversion), 500
// for anything else.
//
// Thread-safety: configure (Add, SetTokenValidator) before the server starts; Dispatch is then
// safe to call from many threads at once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/webapi/auth.h"
#include "baton/webapi/http_types.h"

namespace baton::webapi {

using Handler = std::function<Response(Request&)>;

// Authenticates a request that carries no bearer token (a browser's session cookie): returns
// the principal, or nullopt when the request carries no such credentials. It may instead fill
// `refusal` to refuse the request outright (a cookie write without its CSRF token).
using SessionAuthenticator =
    std::function<std::optional<std::string>(const Request&, std::optional<Response>& refusal)>;

// Whether a request without credentials may still use a token route (reads of public
// pipelines). The request's params are bound when it is called.
using AnonymousAccess = std::function<bool(const Request&)>;

enum class Access {
  kPublic,  // anyone
  kToken,   // requires `Authorization: Bearer <token>` accepted by the token validator
  // Anyone, but valid credentials (a token or a session) still fill Request::principal, so the
  // handler can show more to them; a missing or invalid token is no refusal.
  kPublicOrToken,
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // REQUIRES: `pattern` starts with '/'; `method` is upper case.
  void Add(std::string method, std::string_view pattern, Handler handler,
           Access access = Access::kPublic);

  // The validator for Access::kToken routes. Without one, token routes always answer 401.
  void SetTokenValidator(TokenValidator validator);
  // Optional: credentials other than a bearer token, and anonymous reads (see above).
  void SetSessionAuthenticator(SessionAuthenticator authenticator);
  void SetAnonymousAccess(AnonymousAccess access);
  // Optional: answers GET/HEAD requests whose path no route knows (the web UI's files), instead
  // of the 404.
  void SetFallback(Handler fallback);

  // Fills request.params (and request.principal), runs the matching handler and returns its
  // response, or the 404/405/401/500 JSON error. request.path must already be decoded.
  Response Dispatch(Request& request) const;

 private:
  struct Route;
  struct Match;
  Match Find(const Request& request) const;
  // The 401 response if `request` lacks a valid token; sets request.principal otherwise.
  std::optional<Response> Authorize(Request& request) const;

  std::vector<std::unique_ptr<Route>> routes_;
  TokenValidator validator_;
  SessionAuthenticator session_;
  AnonymousAccess anonymous_;
  Handler fallback_;
};

}  // namespace baton::webapi
