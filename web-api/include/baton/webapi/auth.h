// Bearer-token authentication helpers.
//
// The server never stores plain tokens: GenerateToken() makes one for the user, its Sha256Hex()
// (baton/common/sha256.h) goes to the store, and a TokenValidator (supplied by whoever owns the
// store) hashes the presented token and looks the hash up, comparing with TokenMatchesHash
// (constant time). Routes marked Access::kToken (router.h) answer 401 with `WWW-Authenticate:
// Bearer` when the header is missing or the validator rejects the token. All functions are
// thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton::webapi {

// Returns the principal (a user or team name, whatever the caller wants handlers to see in
// Request::principal) for a valid token, or nullopt. Called from io threads concurrently.
using TokenValidator = std::function<std::optional<std::string>(std::string_view token)>;

// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or nullopt
// when the header is missing, of another scheme or empty.
std::optional<std::string> BearerToken(std::string_view authorization_header);

// A fresh random token: `bytes` bytes from the kernel (getrandom(2)), as lower-case hex.
Result<std::string> GenerateToken(size_t bytes = 32);

// Compares in time independent of where the inputs differ (CRYPTO_memcmp); different lengths
// are unequal.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Whether Sha256Hex(token) equals `sha256_hex`, compared in constant time.
bool TokenMatchesHash(std::string_view token, std::string_view sha256_hex);

}  // namespace baton::webapi
