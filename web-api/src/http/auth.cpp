#include "baton/webapi/auth.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

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

Result<std::string> GenerateToken(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    char err[256];
    ERR_error_string_n(ERR_get_error(), err, sizeof(err));
    return Internal(std::string("cannot generate a random token: ") + err);
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
