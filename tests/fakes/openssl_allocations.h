// OpenSslAllocations: counts the bytes OpenSSL allocates (CRYPTO_set_mem_functions), for tests
// that check a path leaves OpenSSL's provider machinery down (docs/benchmarks.md: a first EVP
// digest or RAND_bytes keeps ~2 MB of libcrypto resident and ~150 KB of heap). Counting can
// only start before OpenSSL's first allocation in the process; CTest runs each test alone.
// Not thread-safe: one counter per process.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdlib>

namespace baton::testing {

class OpenSslAllocations {
 public:
  // False when OpenSSL has allocated already (the test should skip).
  static bool Start() { return CRYPTO_set_mem_functions(Malloc, Realloc, Free) != 0; }
  static size_t bytes() { return bytes_; }

 private:
  static void* Malloc(size_t n, const char*, int) {
    bytes_ += n;
    return std::malloc(n);
  }
  static void* Realloc(void* p, size_t n, const char*, int) {
    bytes_ += n;
    return std::realloc(p, n);
  }
  static void Free(void* p, const char*, int) { std::free(p); }
  static inline size_t bytes_ = 0;
};

}  // namespace baton::testing
