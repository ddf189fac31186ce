#include "baton/webapi/auth.h"

#include <openssl/crypto.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include <string>
#include <vector>

#include "baton/common/sha256.h"
#include "baton/common/strings.h"

namespace baton::webapi {

std::optional<std::string> BearerToken(std::string_view authorization_header) {
  std::string_view value = Trim(authorization_header);
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view token = Trim(value.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

// From the kernel's CSPRNG, not OpenSSL's RAND_bytes: its DRBG would bring up OpenSSL's
// providers, 2 MB of libcrypto resident in a server that otherwise needs none of it at start.
Result<std::string> GenerateToken(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  for (size_t got = 0; got < buf.size();) {
    ssize_t n = ::getrandom(buf.data() + got, buf.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Internal(std::string("cannot generate a random token: ") + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool TokenMatchesHash(std::string_view token, std::string_view sha256_hex) {
  return ConstantTimeEquals(Sha256Hex(token), sha256_hex);
}

}  // namespace baton::webapi
