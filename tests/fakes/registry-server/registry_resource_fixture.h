// The fixture the registry-image tests share: the built-in registry-image type with Baton's
// real HTTP transports and a sink keeping its log lines, a temp dir, and Debian's
// docker-registry started in it on demand (registry_fixture.h). Not thread-safe, except
// OutputLines, which a resource may write from any thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "baton/workers/http_transport.h"
#include "baton/workers/resource_type.h"
#include "fakes/test_env.h"
#include "registry-server/registry_fixture.h"

namespace baton::testing {

// Keeps every line a resource logs, for tests that read the log (thread-safe).
class OutputLines : public workers::OutputSink {
 public:
  void OnLine(SystemTime, workers::OutputStream, std::string_view line) override;
  std::string text() const;

 private:
  mutable std::mutex mu_;
  std::string text_;
};

class RegistryResourceTest : public ::testing::Test {
 protected:
  RegistryResourceTest();

  // Starts registry_ in dir_/registry.
  void StartRegistry(RegistryServerOptions options = {});

  TempDir dir_;
  OutputLines lines_;
  workers::HttpTransportFactory transports_;  // ctx_ points at it: tests may replace it
  workers::ResourceContext ctx_;
  std::unique_ptr<workers::ResourceType> type_;  // registry-image
  std::unique_ptr<RegistryServer> registry_;     // null until StartRegistry
};

}  // namespace baton::testing
