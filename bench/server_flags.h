// bench_server's command line (the usage is at the top of server.cpp).
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

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

// Parses the command line into `f` (CLI11); --baton PATH sets BATON_TEST_BINARY (BatonBinary()).
// nullopt to go on; otherwise the code to exit with: 0 after --help, 2 after a message on stderr
// for an unknown flag or a value the flag does not take.
inline std::optional<int> ParseServerBenchFlags(int argc, char** argv, ServerBenchFlags& f) {
  CLI::App app{"Baton as a service, measured as in shared/BENCHMARKS.md (see bench/server.cpp)",
               "bench_server"};
  std::string baton, follow = "parse";
  app.add_option("--runs", f.runs,
                 "runs of W5 (W1-W3 take max(1, N/20), at least 9 for HIST; W4 half that)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--only", f.only, "the parts to run, comma-separated")->capture_default_str();
  app.add_option("--followers", f.followers, "W4's SSE followers")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  app.add_option("--history", f.history, "finished builds in HIST's full store")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  app.add_option("--poll-ms", f.poll_ms, "how often W1-W3 list the jobs until all finished")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--follow", follow, "W4's followers parse the SSE stream or count raw bytes")
      ->check(CLI::IsMember({"parse", "raw"}))
      ->capture_default_str();
  app.add_option("--baton", baton, "another `baton` to start (default: beside this program)");
  app.add_option("--maps", f.maps, "print the M largest mappings by RSS");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  f.raw = follow == "raw";
  if (!baton.empty()) setenv("BATON_TEST_BINARY", baton.c_str(), 1);
  return std::nullopt;
}

}  // namespace baton::bench
