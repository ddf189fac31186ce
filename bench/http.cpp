// bench_http: requests per second of a trivial JSON route on the Baton HTTP server.
//
//   bench_http [CONNECTIONS] [SECONDS] [RUNS]   in-process load: CONNECTIONS threads, each a
//                                               kept-alive HttpClient; prints each run and
//                                               the median (defaults 4, 3, 3)
//   bench_http serve [SECONDS]                  serve /api/json and /api/stream?n=N for an
//                                               external load tool (wrk); prints the URL
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "baton/net/http_client.h"
#include "baton/webapi/http_server.h"
#include "baton/webapi/sse.h"

namespace {

using namespace baton::webapi;
using baton::net::HttpClient;

constexpr const char* kJson =
    R"({"id":42,"name":"unit","status":"succeeded","pipeline":"baton","team":"main","n":1})";

std::unique_ptr<HttpServer> StartServer() {
  Router router;
  router.Add("GET", "/api/json", [](Request&) { return Response::Json(200, kJson); });
  router.Add("GET", "/api/stream", [](Request& r) {
    auto source = std::make_shared<MemoryEventSource>();
    int n = std::atoi(r.Query("n").value_or("20").c_str());
    for (int i = 0; i < n; ++i) source->Append("log", kJson);
    source->Finish();
    return Response::EventStream(source, r.LastEventId());
  });
  auto server = std::make_unique<HttpServer>(std::move(router), ServerOptions{});
  if (!server->Start().ok()) std::exit(1);
  return server;
}

double OneRun(const std::string& url, int connections, int seconds) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0}, failed{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      HttpClient client;
      while (!stop) {
        auto r = client.Get(url);
        (r.ok() && r->status == 200 ? done : failed)++;
      }
    });
  }
  auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // a benchmark's measuring window
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed > 0) std::printf("  (%ld failed requests)\n", failed.load());
  return static_cast<double>(done) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Requests per second of a trivial JSON route on the Baton HTTP server",
               "bench_http"};
  int connections = 4, seconds = 3, runs = 3, serve_seconds = 60;
  app.add_option("CONNECTIONS", connections, "threads, each a kept-alive HttpClient")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("SECONDS", seconds, "the length of a run")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("RUNS", runs, "runs")->check(CLI::Range(1, 1000000))->capture_default_str();
  CLI::App* serve =
      app.add_subcommand("serve", "serve /api/json and /api/stream?n=N for an external tool");
  serve->add_option("SECONDS", serve_seconds, "how long to serve")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto server = StartServer();
  if (*serve) {
    const int seconds = serve_seconds;
    std::printf("%s\n", server->base_url().c_str());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    return 0;
  }
  std::vector<double> rates;
  for (int i = 0; i < runs; ++i) {
    rates.push_back(OneRun(server->base_url() + "/api/json", connections, seconds));
    std::printf("run %d: %.0f req/s\n", i + 1, rates.back());
  }
  std::sort(rates.begin(), rates.end());
  std::printf("median: %.0f req/s (%d connections, %d s x %d runs)\n", rates[rates.size() / 2],
              connections, seconds, runs);
}
