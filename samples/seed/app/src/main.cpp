// seed-server --role api|admin|user: listens on $PORT (Cloud Foundry sets it; default 8080) at
// $SEED_BIND (default 127.0.0.1; set 0.0.0.0 on a real Cloud Foundry).
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_server.h"
#include "role.h"
#include "routes.h"

namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::string(fallback);
}

std::optional<unsigned short> ParsePort(std::string_view text) {
  unsigned int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port > 65535) return std::nullopt;
  return static_cast<unsigned short>(port);
}

int Usage() {
  std::cerr << "usage: seed-server --role api|admin|user   (listens on $SEED_BIND:$PORT)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.size() != 2 || args[0] != "--role") return Usage();
  std::optional<seed::Role> role = seed::ParseRole(args[1]);
  std::optional<unsigned short> port = ParsePort(EnvOr("PORT", "8080"));
  if (!role || !port) return Usage();
  seed::ServiceInfo info{*role, SEED_VERSION, EnvOr("CF_INSTANCE_INDEX", "0")};
  std::cout << "seed " << info.version << " role " << seed::RoleName(*role) << "\n";
  return seed::Serve(
      EnvOr("SEED_BIND", "127.0.0.1"), *port,
      [&info](const seed::Request& request) { return seed::Route(info, request); }, std::cout);
}
