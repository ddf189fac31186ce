#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

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

Json ListOf(const std::string& url, Json resources) {
  size_t n = resources.size();
  return {{"pagination",
           {{"total_results", n},
            {"total_pages", 1},
            {"first", {{"href", url}}},
            {"last", {{"href", url}}},
            {"next", nullptr},
            {"previous", nullptr}}},
          {"resources", std::move(resources)}};
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
