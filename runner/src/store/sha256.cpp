#include "sha256.h"

#include <openssl/evp.h>

#include "baton/common/strings.h"

namespace baton::runner::sqlite {

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr)) return {};
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace baton::runner::sqlite
