// A small HTTP/1.1 server on Boost.Beast: one thread per connection, one request per
// connection (Connection: close), every reply made by a handler.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "routes.h"

namespace seed {

using Handler = std::function<Reply(const Request&)>;

// Listens on `host`:`port` and serves until the process ends. Returns a non-zero exit code
// (after writing why to `log`) when it cannot listen.
int Serve(const std::string& host, unsigned short port, const Handler& handler, std::ostream& log);

}  // namespace seed
