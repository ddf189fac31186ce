// SHA-256, Baton's one digest: API token hashes, artifact objects and manifests, cache and
// mirror names, webhook delivery ids, image digests. Sha256Hex is for short strings (tokens,
// names; mbedTLS, which a server loads for 0.2-0.4 MB where OpenSSL's libcrypto keeps ~1.5 MB
// resident); Sha256 for data of any size (OpenSSL's SHA256_*, not EVP, ~6x faster: see
// sha256.cpp).
//
//   std::string hex = Sha256Hex("abc");  // "ba7816bf..."
//   Sha256 hash;                         // or incrementally, for data read in pieces
//   hash.Update(chunk);
//   std::string hex = hash.FinishHex();
//
// Sha256Hex is pure and thread-safe; one Sha256 object belongs to one thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace baton {

// Lower-case hex of SHA-256(data), for short data (a token, a name, a small document).
std::string Sha256Hex(std::string_view data);

// An incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  // Lower-case hex of the digest of everything passed to Update.
  // REQUIRES: called once; no Update afterwards.
  std::string FinishHex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace baton
