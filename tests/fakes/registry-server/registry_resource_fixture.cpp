#include "registry-server/registry_resource_fixture.h"

namespace baton::testing {

void OutputLines::OnLine(SystemTime, workers::OutputStream, std::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  text_ += std::string(line) + "\n";
}

std::string OutputLines::text() const {
  std::lock_guard<std::mutex> lock(mu_);
  return text_;
}

RegistryResourceTest::RegistryResourceTest()
    : transports_(workers::MakeHttpTransportFactory()),
      type_(workers::MakeBuiltinResourceType("registry-image")) {
  ctx_.output = &lines_;
  ctx_.http_transport = &transports_;
}

void RegistryResourceTest::StartRegistry(RegistryServerOptions options) {
  registry_ = std::make_unique<RegistryServer>(dir_ / "registry", std::move(options));
}

}  // namespace baton::testing
