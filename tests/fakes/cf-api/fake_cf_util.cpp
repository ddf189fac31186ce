#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "baton/common/clock.h"
#include "cf-api/fake_cf_state.h"

namespace baton::testing::fakecf {

std::string NewGuid() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
           b[14], b[15]);
  return out;
}

std::string Rfc3339Now() { return FormatRfc3339(RealClock().Now()); }

webapi::Response CfError(int status, int code, const std::string& title,
                         const std::string& detail) {
  Json body = {{"errors", Json::array({{{"code", code}, {"title", title}, {"detail", detail}}})}};
  return webapi::Response::Json(status, body);
}

webapi::Response InvalidAuthToken() {
  return CfError(401, 1000, "CF-InvalidAuthToken", "Invalid Auth Token");
}

webapi::Response UnprocessableEntity(const std::string& detail) {
  return CfError(422, 10008, "CF-UnprocessableEntity", detail);
}

webapi::Response NotFoundError(const std::string& what) {
  return CfError(404, 10010, "CF-ResourceNotFound", what + " not found");
}

namespace {

// The request's URL with every raw query parameter but page/per_page, then those.
std::string PageUrl(const std::string& base, const webapi::Request& req, int page, int per_page) {
  std::string url = base + req.path + "?";
  size_t q = req.target.find('?');
  std::string query = q == std::string::npos ? "" : req.target.substr(q + 1);
  for (size_t at = 0; at < query.size();) {
    size_t amp = std::min(query.find('&', at), query.size());
    std::string part = query.substr(at, amp - at);
    if (!part.empty() && part.rfind("page=", 0) != 0 && part.rfind("per_page=", 0) != 0) {
      url += part + "&";
    }
    at = amp + 1;
  }
  return url + "page=" + std::to_string(page) + "&per_page=" + std::to_string(per_page);
}

int QueryInt(const webapi::Request& req, const char* name, int fallback) {
  try {
    return std::stoi(req.Query(name).value_or(std::to_string(fallback)));
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

Json ListOf(const std::string& base_url, const webapi::Request& req, Json resources,
            int default_per_page) {
  int per_page = std::clamp(QueryInt(req, "per_page", default_per_page), 1, 5000);
  int total = static_cast<int>(resources.size());
  int pages = std::max(1, (total + per_page - 1) / per_page);
  int page = std::clamp(QueryInt(req, "page", 1), 1, pages);
  Json slice = Json::array();
  for (int i = (page - 1) * per_page; i < std::min(total, page * per_page); ++i) {
    slice.push_back(resources[static_cast<size_t>(i)]);
  }
  auto link = [&](int p) { return Json{{"href", PageUrl(base_url, req, p, per_page)}}; };
  return {{"pagination",
           {{"total_results", total},
            {"total_pages", pages},
            {"first", link(1)},
            {"last", link(pages)},
            {"next", page < pages ? link(page + 1) : Json(nullptr)},
            {"previous", page > 1 ? link(page - 1) : Json(nullptr)}}},
          {"resources", std::move(slice)}};
}

std::string Base64Encode(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(n);
  return out;
}

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace baton::testing::fakecf
