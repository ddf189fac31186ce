#include "routes.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <optional>

#include "html.h"

namespace seed {
namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kHtml = "text/html; charset=utf-8";

struct Seed {
  std::string_view id;
  std::string_view name;
  int days_to_sprout;
};

constexpr std::array<Seed, 4> kCatalog = {{{"basil", "Genovese basil", 7},
                                           {"tomato", "San Marzano tomato", 10},
                                           {"pea", "Kelvedon Wonder pea", 9},
                                           {"chili", "Habanero <hot> & \"spicy\"", 14}}};

// The pieces joined into one string.
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out.append(part);
  return out;
}

std::optional<Seed> FindSeed(std::string_view id) {
  const auto* found =
      std::find_if(kCatalog.begin(), kCatalog.end(), [id](const Seed& s) { return s.id == id; });
  if (found == kCatalog.end()) return std::nullopt;
  return *found;
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string SeedJson(const Seed& seed) {
  return Cat({"{\"id\":\"", EscapeJson(seed.id), "\",\"name\":\"", EscapeJson(seed.name),
              "\",\"days_to_sprout\":", std::to_string(seed.days_to_sprout), "}"});
}

Reply JsonReply(int status, const std::string& body) { return {status, std::string(kJson), body}; }

Reply JsonError(int status, std::string_view message) {
  return JsonReply(status, Cat({"{\"error\":\"", EscapeJson(message), "\"}"}));
}

Reply Page(const ServiceInfo& info, int status, std::string_view title, std::string_view content) {
  return {status, std::string(kHtml),
          Cat({"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", EscapeHtml(title),
               "</title></head>\n<body>\n<h1>", EscapeHtml(title), "</h1>\n", content,
               "<footer>seed ", EscapeHtml(info.version), ", role ", RoleName(info.role),
               ", instance ", EscapeHtml(info.instance), "</footer>\n</body></html>\n"})};
}

Reply ApiReply(const ServiceInfo& info, std::string_view path) {
  constexpr std::string_view kSeeds = "/api/v1/seeds/";
  if (path == "/") {
    return JsonReply(200, Cat({"{\"service\":\"seed-api\",\"version\":\"", EscapeJson(info.version),
                               "\",\"instance\":\"", EscapeJson(info.instance),
                               "\",\"links\":[\"/api/v1/seeds\",\"/api/v1/seeds/{id}\"]}"}));
  }
  if (path == "/api/v1/seeds") {
    std::string body = "[";
    for (const Seed& seed : kCatalog) {
      if (body.size() > 1) body += ',';
      body += SeedJson(seed);
    }
    body += ']';
    return JsonReply(200, body);
  }
  if (!StartsWith(path, kSeeds)) return JsonError(404, "not found");
  if (auto seed = FindSeed(path.substr(kSeeds.size()))) return JsonReply(200, SeedJson(*seed));
  return JsonError(404, "no such seed");
}

Reply AdminReply(const ServiceInfo& info, std::string_view path) {
  if (path != "/") return Page(info, 404, "Not found", "");
  std::string table = "<table>\n<tr><th>id</th><th>name</th><th>days to sprout</th></tr>\n";
  for (const Seed& seed : kCatalog) {
    table += Cat({"<tr><td>", EscapeHtml(seed.id), "</td><td>", EscapeHtml(seed.name), "</td><td>",
                  std::to_string(seed.days_to_sprout), "</td></tr>\n"});
  }
  table += "</table>\n";
  return Page(info, 200, "Seed admin", table);
}

Reply UserReply(const ServiceInfo& info, std::string_view path) {
  constexpr std::string_view kSeeds = "/seeds/";
  if (path == "/") {
    std::string list = "<ul>\n";
    for (const Seed& seed : kCatalog) {
      list += Cat({"<li><a href=\"/seeds/", EscapeHtml(seed.id), "\">", EscapeHtml(seed.name),
                   "</a></li>\n"});
    }
    list += "</ul>\n";
    return Page(info, 200, "Seed shop", list);
  }
  if (StartsWith(path, kSeeds)) {
    if (auto seed = FindSeed(path.substr(kSeeds.size()))) {
      return Page(info, 200, seed->name,
                  Cat({"<p>Sprouts in ", std::to_string(seed->days_to_sprout), " days.</p>\n"}));
    }
  }
  return Page(info, 404, "Not found", "");
}

}  // namespace

Reply Route(const ServiceInfo& info, const Request& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return {405, "text/plain", "method not allowed\n"};
  }
  std::string_view path = PathOf(request.target);
  if (path == "/healthz") return {200, "text/plain", "ok\n"};
  switch (info.role) {
    case Role::kApi:
      return ApiReply(info, path);
    case Role::kAdmin:
      return AdminReply(info, path);
    case Role::kUser:
      return UserReply(info, path);
  }
  return {500, "text/plain", "unknown role\n"};
}

}  // namespace seed
