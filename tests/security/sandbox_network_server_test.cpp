// Issue 9, the network, end to end: a task of a real `baton quickstart` cannot reach the server's
// API on the host's loopback; with the server listening on a host address and told its external
// URL, a task reaches it at $ATC_EXTERNAL_URL like any other client.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;

// An IPv4 address of this host that is up and not loopback ("" when there is none).
std::string ExternalAddress() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP)) continue;
    char buf[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf)) found = buf;
  }
  ::freeifaddrs(list);
  return found;
}

// A port that was free on `address` a moment ago (the server binds it right after).
int FreePort(const std::string& address) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// Sets a one-job pipeline whose task runs `script`, triggers it and returns the build's log.
std::string RunTaskOn(const ServerProcess& server, const std::string& script) {
  TempDir files;
  WriteFile(files / "p.yml",
            "jobs:\n"
            "- name: probe\n"
            "  plan:\n"
            "  - task: probe\n"
            "    config:\n"
            "      platform: linux\n"
            "      run: {path: sh, args: [-c, '" +
                script + "']}\n");
  CliResult set = server.Cli({"set-pipeline", "-n", "-p", "net", "-c", (files / "p.yml").string()});
  EXPECT_EQ(set.exit_code, 0) << set.All();
  ApiReply r = server.Api("POST", "/api/v1/teams/main/pipelines/net/jobs/probe/builds");
  EXPECT_EQ(r.status, 201) << r.text;
  json builds = server.WaitForFinishedBuilds("net", "probe", 1, std::chrono::seconds(120));
  if (builds.empty()) return "<the build did not finish>\n" + server.log();
  return server.BuildLog(builds[0].value("id", int64_t{0}));
}

TEST(SandboxNetworkServer, ATaskCannotReachTheServersApiOnTheHostsLoopback) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  ASSERT_EQ(server.url().rfind("http://127.0.0.1:", 0), 0u) << server.url();
  std::string log = RunTaskOn(server, "curl -sS -m 10 -o /dev/null -w \"%{http_code}\" " +
                                          server.url() + "/api/v1/info; echo \" rc=$?\"");
  EXPECT_NE(log.find("rc="), std::string::npos) << log;
  EXPECT_EQ(log.find("rc=0"), std::string::npos) << "the task reached the API: " << log;
  EXPECT_EQ(log.find("200"), std::string::npos) << log;
}

TEST(SandboxNetworkServer, ATaskReachesTheServerAtANonLoopbackExternalUrl) {
  std::string address = ExternalAddress();
  if (address.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address to test";
  int port = FreePort(address);
  ASSERT_GT(port, 0);
  std::string url = "http://" + address + ":" + std::to_string(port);
  ServerProcess server({"--bind", address + ":" + std::to_string(port), "--external-url", url});
  ASSERT_TRUE(server.started()) << server.log();
  std::string log = RunTaskOn(
      server,
      "echo \"external: $ATC_EXTERNAL_URL\"; curl -sS -m 10 \"$ATC_EXTERNAL_URL/api/v1/info\"");
  EXPECT_NE(log.find("external: " + url), std::string::npos) << log;
  EXPECT_NE(log.find("\"external_url\":\"" + url + "\""), std::string::npos) << log;
}

}  // namespace
}  // namespace baton::testing
