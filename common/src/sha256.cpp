#include "baton/common/sha256.h"

#include <mbedtls/md.h>
#include <openssl/sha.h>

#include "baton/common/strings.h"

// OpenSSL's SHA256_* functions run the same assembly as an EVP digest without OpenSSL's provider
// machinery, which a first EVP digest brings up (config, default provider, name map): measured,
// 1.9 MB more of libcrypto resident and ~150 KB of heap for the life of the process, in a server
// that hashes only API tokens (docs/benchmarks.md, 2026-12-04, branch memory). They are
// deprecated since OpenSSL 3.0 in favour of EVP but kept; the pragma keeps -Werror builds quiet.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace baton {

struct Sha256::Context {
  SHA256_CTX sha;
};

Sha256::Sha256() : context_(std::make_unique<Context>()) { SHA256_Init(&context_->sha); }

Sha256::~Sha256() = default;

void Sha256::Update(std::string_view data) {
  SHA256_Update(&context_->sha, data.data(), data.size());
}

std::string Sha256::FinishHex() {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &context_->sha);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

// mbedTLS, not OpenSSL: a server hashes each API token it is shown, and loading libcrypto for
// that kept ~1.5 MB of it resident (its relocations and tables) where libmbedcrypto keeps
// 0.2-0.4 MB (and libgit2 loads it anyway). Its portable C runs at ~80 MB/s against OpenSSL's
// ~500 MB/s (SHA-NI), so data of any size goes through Sha256 (docs/benchmarks.md, memory2).
std::string Sha256Hex(std::string_view data) {
  unsigned char digest[32];
  if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest) != 0) {
    Sha256 hash;  // mbedTLS fails only on bad parameters; OpenSSL gives the same digest
    hash.Update(data);
    return hash.FinishHex();
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace baton

#pragma GCC diagnostic pop
