// baton-fake-cf: runs the Cloud Foundry STAND-IN (see fake_cf.h and README.md) until SIGTERM or
// SIGINT, then stops every app it started.
//
//   baton-fake-cf --data-dir DIR [--listen 127.0.0.1:0] [--tls] [--user admin --password admin]
//                 [--org baton-org --space demo] [--domain apps.baton.local] [--fail-at STAGE]
//                 [--fail-once STATUS:METHOD:PATH[:COUNT[:RETRY_AFTER]]]... [--slow-link BPS[:MS]]
//
// When ready it prints exactly one stdout line,
//   baton-fake-cf (stand-in for Cloud Foundry) listening on URL
// and writes URL to DIR/api-url. Its log lines go to stderr, each labelled as the stand-in.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

#include "cf-api/fake_cf.h"

namespace {

using baton::testing::fakecf::FakeCfOptions;

int Usage(const std::string& why) {
  std::cerr << "baton-fake-cf (stand-in for Cloud Foundry): " << why << "\n"
            << "usage: baton-fake-cf --data-dir DIR [--listen 127.0.0.1:0] [--tls] [--user U "
               "--password P] [--org O --space S] [--domain D] [--fail-at STAGE] [--fail-once "
               "STATUS:METHOD:PATH[:COUNT[:RETRY_AFTER]]]\n";
  return 2;
}

bool Parse(int argc, char** argv, FakeCfOptions& o, bool& tls, std::string& error) {
  std::map<std::string, std::string*> values = {
      {"--data-dir", &o.data_dir}, {"--user", &o.user},   {"--password", &o.password},
      {"--org", &o.org},           {"--space", &o.space}, {"--domain", &o.domain}};
  std::string listen = "127.0.0.1:0", fail_at = "none";
  values["--listen"] = &listen;
  values["--fail-at"] = &fail_at;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--tls") {
      tls = true;
      o.tls = true;
    } else if (arg == "--slow-link" && i + 1 < argc) {
      std::string link = argv[++i];  // BYTES_PER_SECOND[:LATENCY_MS]
      size_t colon = link.find(':');
      o.slow_link.upload_bytes_per_second = std::stoull(link.substr(0, colon));
      if (colon != std::string::npos) {
        o.slow_link.latency = std::chrono::milliseconds(std::stoi(link.substr(colon + 1)));
      }
    } else if (arg == "--fail-once" && i + 1 < argc) {
      auto fault = baton::testing::fakecf::ParseFault(argv[++i]);
      if (!fault.ok()) return error = fault.status().message(), false;
      o.faults.push_back(*fault);
    } else if (values.count(arg) && i + 1 < argc) {
      *values[arg] = argv[++i];
    } else {
      error = "unknown or incomplete argument '" + arg + "'";
      return false;
    }
  }
  if (o.data_dir.empty()) return error = "--data-dir is required", false;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return error = "--listen must be HOST:PORT", false;
  o.host = listen.substr(0, colon);
  o.port = static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)));
  auto stage = baton::testing::fakecf::ParseFailAt(fail_at);
  if (!stage.ok()) return error = stage.status().message(), false;
  o.fail_at = *stage;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  FakeCfOptions options;
  bool tls = false;
  std::string error;
  try {
    if (!Parse(argc, argv, options, tls, error)) return Usage(error);
  } catch (const std::exception&) {
    return Usage("--listen must be HOST:PORT and --slow-link BYTES_PER_SECOND[:LATENCY_MS]");
  }
  static std::mutex log_mu;
  options.log = [](const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mu);
    std::cerr << line << std::endl;
  };
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread inherits the mask
  signal(SIGPIPE, SIG_IGN);
  baton::testing::fakecf::FakeCloudFoundry cf(options);
  if (auto st = cf.Start(); !st.ok()) {
    std::cerr << "baton-fake-cf (stand-in for Cloud Foundry): " << st.ToString() << "\n";
    return 1;
  }
  if (tls) {
    std::cerr << "baton-fake-cf (stand-in): HTTPS with a certificate made at start; trust "
              << cf.ca_file() << "\n";
  }
  std::ofstream(std::filesystem::path(options.data_dir) / "api-url") << cf.url() << "\n";
  std::cout << "baton-fake-cf (stand-in for Cloud Foundry) listening on " << cf.url() << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "baton-fake-cf (stand-in): signal " << sig << ", stopping every app\n";
  cf.Stop();
  return 0;
}
