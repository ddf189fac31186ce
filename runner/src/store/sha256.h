// SHA-256 (OpenSSL), for hashing API tokens before they are stored. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace baton::runner::sqlite {

// Lower-case hex of SHA-256(data).
std::string Sha256Hex(std::string_view data);

}  // namespace baton::runner::sqlite
