// net's Boost.Asio/Beast names (baton/net/asio.h), unqualified for the server's sources.
#pragma once

#include "baton/net/asio.h"

namespace baton::webapi {

namespace asio = net::asio;
namespace beast = net::beast;
namespace http = net::http;
using net::Redirect;
using net::tcp;
using net::ToBeast;
using net::ToStd;

}  // namespace baton::webapi
