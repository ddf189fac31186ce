#include "baton/common/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace baton {
namespace {

TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("user:p@ss"), "dXNlcjpwQHNz");
}

TEST(Base64, DecodesTheRfc4648Vectors) {
  EXPECT_EQ(Base64Decode(""), "");
  EXPECT_EQ(Base64Decode("Zg=="), "f");
  EXPECT_EQ(Base64Decode("Zm8="), "fo");
  EXPECT_EQ(Base64Decode("Zm9v"), "foo");
  EXPECT_EQ(Base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(Base64Decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(Base64Decode("Zm9vYmFy"), "foobar");
}

TEST(Base64, RoundTripsEveryByteValueAtEveryLength) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t len = 0; len <= bytes.size(); len += 37) {
    std::string part = bytes.substr(0, len);
    EXPECT_EQ(Base64Decode(Base64Encode(part)), part) << len;
  }
  EXPECT_EQ(Base64Decode(Base64Encode(std::string("a\0b", 3))), std::string("a\0b", 3));
}

TEST(Base64, RefusesWhatIsNotPaddedStandardBase64) {
  EXPECT_FALSE(Base64Decode("Zg"));      // unpadded
  EXPECT_FALSE(Base64Decode("Zm9v\n"));  // whitespace
  EXPECT_FALSE(Base64Decode(" Zm9v"));   // whitespace OpenSSL would skip
  EXPECT_FALSE(Base64Decode("Zm9-"));    // URL-safe alphabet
  EXPECT_FALSE(Base64Decode("Z==="));    // three pads
  EXPECT_FALSE(Base64Decode("Zm=v"));    // a pad inside
  EXPECT_FALSE(Base64Decode("Zm9vYmFy!!!!"));
}

}  // namespace
}  // namespace baton
