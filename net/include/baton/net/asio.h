// The Boost.Asio/Beast includes every HTTP source (client and server) uses, in the order that
// compiles, and the short names they use for them.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (GCC 12).
#include <utility>

#include <string_view>

// GCC 12 reports -Wmismatched-new-delete inside asio's awaitable frames: asio allocates frames
// with its thread-local recycling allocator and frees them with the matching sized delete, which
// GCC cannot see through. A known false positive; silenced for files that use coroutines.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace baton::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

inline std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }
inline beast::string_view ToBeast(std::string_view s) { return {s.data(), s.size()}; }

// co_await op(..., Redirect(ec)) stores the error instead of throwing.
inline auto Redirect(beast::error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

}  // namespace baton::net
