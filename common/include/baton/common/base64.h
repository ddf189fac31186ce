// Base64 (RFC 4648 §4: the standard alphabet, padded), Baton's one codec for it: HTTP basic
// credentials (registries, Cloud Foundry's UAA, proxies), cf log payloads, the redactor's
// encoded forms of secrets. Computed by OpenSSL (EVP_EncodeBlock/EVP_DecodeBlock). Pure and
// thread-safe.
//
//   std::string text = Base64Encode("user:pass");        // "dXNlcjpwYXNz"
//   std::optional<std::string> bytes = Base64Decode(text);  // "user:pass"
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace baton {

// The padded standard base64 of `data` (any bytes).
std::string Base64Encode(std::string_view data);

// The bytes `text` encodes, or nullopt when it is not padded standard base64 (length a
// multiple of 4, only A-Z a-z 0-9 + / and up to two trailing '='; no whitespace).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace baton
