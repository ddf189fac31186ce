#include "baton/common/sha256.h"

#include <gtest/gtest.h>

#include <string>

#include "fakes/openssl_allocations.h"

namespace baton {
namespace {

// FIPS 180-2 appendix B test vectors.
TEST(Sha256, MatchesTheStandardTestVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, HashingInPiecesGivesTheDigestOfTheWhole) {
  Sha256 hash;
  std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) hash.Update(chunk);  // one million 'a'
  EXPECT_EQ(hash.FinishHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, BytesOutsideAsciiAndEmbeddedNulsAreHashedAsGiven) {
  std::string with_nul("a\0b", 3);
  EXPECT_NE(Sha256Hex(with_nul), Sha256Hex("a"));
  Sha256 hash;
  hash.Update(with_nul.substr(0, 2));
  hash.Update(with_nul.substr(2));
  EXPECT_EQ(hash.FinishHex(), Sha256Hex(with_nul));
}

// Sha256Hex (mbedTLS) and Sha256 (OpenSSL) are two implementations: they agree on every length
// around SHA-256's 64-byte blocks and its 56-byte padding boundary.
TEST(Sha256, TheOneShotAndTheIncrementalHashAgreeOnEveryLength) {
  std::string data;
  for (int n = 0; n <= 300; ++n) {
    Sha256 hash;
    hash.Update(data);
    EXPECT_EQ(Sha256Hex(data), hash.FinishHex()) << n << " bytes";
    data.push_back(static_cast<char>(n * 37));
  }
}

// An EVP digest brings up OpenSSL's providers, ~150 KB of heap and 1.9 MB more of libcrypto
// resident for the life of the process: a server that hashes API tokens should not pay that.
TEST(Sha256, HashingAllocatesNothingInOpenSsl) {
  if (!testing::OpenSslAllocations::Start()) {
    GTEST_SKIP() << "OpenSSL allocated before this test; CTest runs each test in its own process";
  }
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 hash;
  hash.Update("abc");
  hash.FinishHex();
  EXPECT_LT(testing::OpenSslAllocations::bytes(), 1024u);
}

}  // namespace
}  // namespace baton
