// bench_server's command line (the usage is at the top of server.cpp).
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace baton::bench {

struct ServerBenchFlags {
  int runs = 100;
  int followers = 10;
  int history = 100000;
  int poll_ms = 10;
  bool raw = false;  // --follow raw
  size_t maps = 0;
  std::string only = "W5,W1,W2,W3,W4,API,HIST";

  bool wants(const char* id) const { return only.find(id) != std::string::npos; }
};

// Reads `--flag value` pairs into `f`; --baton PATH sets BATON_TEST_BINARY (BatonBinary()). False,
// with a message on stderr, for a value the flag does not take.
inline bool ParseServerBenchFlags(int argc, char** argv, ServerBenchFlags& f) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--runs") f.runs = std::max(1, std::atoi(value));
    if (flag == "--only") f.only = value;
    if (flag == "--followers") f.followers = std::max(0, std::atoi(value));
    if (flag == "--history") f.history = std::max(1, std::atoi(value));
    if (flag == "--poll-ms") f.poll_ms = std::max(1, std::atoi(value));
    if (flag == "--baton") setenv("BATON_TEST_BINARY", value, 1);
    if (flag == "--maps") f.maps = static_cast<size_t>(std::max(0, std::atoi(value)));
    if (flag == "--follow") {
      f.raw = std::string(value) == "raw";
      if (!f.raw && std::string(value) != "parse") {
        std::fprintf(stderr, "bench_server: --follow takes parse or raw, not '%s'\n", value);
        return false;
      }
    }
  }
  return true;
}

}  // namespace baton::bench
