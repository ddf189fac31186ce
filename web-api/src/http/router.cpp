#include "baton/webapi/router.h"

#include <exception>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "baton/common/logging.h"
#include "baton/common/strings.h"

namespace baton::webapi {

namespace {

enum class SegmentKind { kLiteral, kParam, kRest };

struct Segment {
  SegmentKind kind;
  std::string text;  // the literal, or the parameter name
};

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

std::vector<Segment> ParsePattern(std::string_view pattern) {
  std::vector<Segment> segments;
  for (std::string_view part : SplitPath(pattern)) {
    if (!part.empty() && part.front() == ':') {
      segments.push_back({SegmentKind::kParam, std::string(part.substr(1))});
    } else if (!part.empty() && part.front() == '*') {
      segments.push_back({SegmentKind::kRest, std::string(part.substr(1))});
    } else {
      segments.push_back({SegmentKind::kLiteral, std::string(part)});
    }
  }
  return segments;
}

}  // namespace

struct Router::Route {
  std::string method;
  std::vector<Segment> segments;
  Handler handler;
  Access access;
  int literal_count = 0;

  // Binds the route's parameters if `parts` (from the raw, undecoded path) match.
  bool Bind(const std::vector<std::string_view>& parts,
            std::map<std::string, std::string, std::less<>>* params) const;
};

bool Router::Route::Bind(const std::vector<std::string_view>& parts,
                         std::map<std::string, std::string, std::less<>>* params) const {
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& seg = segments[i];
    if (seg.kind == SegmentKind::kRest) {
      std::vector<std::string> rest(parts.begin() + std::min(i, parts.size()), parts.end());
      auto decoded = PercentDecode(Join(rest, "/"), false);
      if (!decoded) return false;
      (*params)[seg.text] = *decoded;
      return true;
    }
    if (i >= parts.size()) return false;
    if (seg.kind == SegmentKind::kLiteral) {
      if (parts[i] != seg.text) return false;
      continue;
    }
    auto decoded = PercentDecode(parts[i], false);
    if (parts[i].empty() || !decoded) return false;
    (*params)[seg.text] = *decoded;
  }
  return parts.size() == segments.size();
}

struct Router::Match {
  const Route* route = nullptr;
  std::map<std::string, std::string, std::less<>> params;
  std::set<std::string> allowed;  // methods of routes whose path matched
};

Router::Router() = default;
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(std::string method, std::string_view pattern, Handler handler, Access access) {
  auto route = std::make_unique<Route>();
  route->method = std::move(method);
  route->segments = ParsePattern(pattern);
  route->handler = std::move(handler);
  route->access = access;
  for (const Segment& s : route->segments) route->literal_count += s.kind == SegmentKind::kLiteral;
  routes_.push_back(std::move(route));
}

void Router::SetTokenValidator(TokenValidator validator) { validator_ = std::move(validator); }
void Router::SetSessionAuthenticator(SessionAuthenticator authenticator) {
  session_ = std::move(authenticator);
}
void Router::SetAnonymousAccess(AnonymousAccess access) { anonymous_ = std::move(access); }
void Router::SetFallback(Handler fallback) { fallback_ = std::move(fallback); }

Router::Match Router::Find(const Request& request) const {
  // Match on the raw path so an encoded '/' (%2F) inside a parameter does not split it.
  std::string_view raw = request.target;
  raw = raw.substr(0, raw.find('?'));
  std::vector<std::string_view> parts = SplitPath(raw);
  Match best;
  int best_literals = -1;
  for (const auto& route : routes_) {
    std::map<std::string, std::string, std::less<>> params;
    if (!route->Bind(parts, &params)) continue;
    best.allowed.insert(route->method);
    bool method_ok =
        route->method == request.method || (request.method == "HEAD" && route->method == "GET");
    if (method_ok && route->literal_count > best_literals) {
      best.route = route.get();
      best.params = std::move(params);
      best_literals = route->literal_count;
    }
  }
  return best;
}

std::optional<Response> Router::Authorize(Request& request) const {
  Response denied = JsonError(401, "unauthorized", "a valid bearer token is required");
  denied.headers.Set("WWW-Authenticate", "Bearer");
  auto header = request.headers.Get("Authorization");
  if (!header && session_) {  // a browser: its session cookie, else maybe a public read
    std::optional<Response> refusal;
    std::optional<std::string> principal = session_(request, refusal);
    if (refusal) return refusal;
    if (principal) {
      request.principal = std::move(*principal);
      return std::nullopt;
    }
  }
  if (!header && anonymous_ && anonymous_(request)) return std::nullopt;
  std::optional<std::string> token = header ? BearerToken(*header) : std::nullopt;
  if (!token || !validator_) return denied;
  std::optional<std::string> principal = validator_(*token);
  if (!principal) {
    denied.headers.Set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return denied;
  }
  request.principal = std::move(*principal);
  return std::nullopt;
}

Response Router::Dispatch(Request& request) const {
  try {
    Match match = Find(request);
    if (!match.route && match.allowed.empty()) {
      if (fallback_ && (request.method == "GET" || request.method == "HEAD")) {
        return fallback_(request);
      }
      return JsonError(404, "not found", "no route for " + request.path);
    }
    if (!match.route) {
      Response r = JsonError(405, "method not allowed",
                             request.method + " is not allowed on " + request.path);
      r.headers.Set("Allow", Join({match.allowed.begin(), match.allowed.end()}, ", "));
      return r;
    }
    request.params = std::move(match.params);
    if (match.route->access == Access::kToken) {
      std::optional<Response> denied = Authorize(request);
      if (denied) return std::move(*denied);
    } else if (match.route->access == Access::kPublicOrToken) {
      (void)Authorize(request);  // refused or not, the handler answers; principal says who asked
    }
    return match.route->handler(request);
  } catch (const nlohmann::json::exception& e) {
    // Reading a client's JSON (or a number in it) the handler did not check first: the request
    // was at fault, so a 400; logged as the handler's bug it also is.
    ModuleLogger("webapi")->warn("{} {}: unchecked client input: {}", request.method, request.path,
                                 e.what());
    return JsonError(400, "bad request",
                     std::string("the request could not be read: ") + e.what() +
                         "; check the body and parameters against docs/api.md");
  } catch (const std::invalid_argument& e) {
    ModuleLogger("webapi")->warn("{} {}: unchecked client input: {}", request.method, request.path,
                                 e.what());
    return JsonError(400, "bad request",
                     std::string("a value in the request is malformed (") + e.what() +
                         "); check the body, parameters and headers against docs/api.md");
  } catch (const std::exception& e) {
    ModuleLogger("webapi")->error("{} {}: handler threw: {}", request.method, request.path,
                                  e.what());
    return JsonError(500, "internal error", e.what());
  } catch (...) {
    ModuleLogger("webapi")->error("{} {}: handler threw", request.method, request.path);
    return JsonError(500, "internal error", "the handler failed");
  }
}

}  // namespace baton::webapi
