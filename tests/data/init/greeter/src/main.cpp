// Answers every HTTP request on $PORT with a greeting.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "greeting.h"

int main() {
  const char* port_text = std::getenv("PORT");
  const long port = port_text != nullptr ? std::strtol(port_text, nullptr, 10) : 8080;
  const int server = socket(AF_INET, SOCK_STREAM, 0);
  if (server < 0) return 1;
  const int on = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return 1;
  if (listen(server, 16) != 0) return 1;
  const std::string body = Greeting("cloud");
  const std::string reply =
      "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (;;) {
    const int client = accept(server, nullptr, nullptr);
    if (client < 0) continue;
    char request[1024];
    if (read(client, request, sizeof request) > 0) {
      if (write(client, reply.data(), reply.size()) < 0) {
        close(client);
        continue;
      }
    }
    close(client);
  }
}
