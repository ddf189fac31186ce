#include "baton/net/http_types.h"

#include <gtest/gtest.h>

#include <string>

namespace baton::net {
namespace {

TEST(QueryString, DecodesPercentEscapesAndPlusAndKeepsRepeats) {
  auto q = ParseQuery("a=1&b=x%20y+z&a=2&flag&=empty").value();
  EXPECT_EQ(q.count("a"), 2u);
  EXPECT_EQ(q.find("b")->second, "x y z");
  EXPECT_EQ(q.find("flag")->second, "");
  EXPECT_FALSE(ParseQuery("a=%G1").has_value());
  EXPECT_FALSE(ParseQuery("a=%4").has_value());
}

TEST(PercentCoding, EncodeThenDecodeIsIdentity) {
  std::string text = "a b/c?d=e&f%g\xe2\x9c\x93";
  EXPECT_EQ(PercentDecode(PercentEncode(text), false), text);
  EXPECT_EQ(PercentEncode("a b/"), "a%20b%2F");
}

TEST(Headers, NamesAreCaseInsensitiveAndMayRepeat) {
  Headers h;
  h.Set("Content-Type", "a");
  h.Set("content-type", "b");
  h.Add("Set-Cookie", "1");
  h.Add("set-cookie", "2");
  EXPECT_EQ(h.Get("CONTENT-TYPE"), "b");
  EXPECT_EQ(h.fields().count("SET-COOKIE"), 2u);
  EXPECT_FALSE(h.Has("x"));
}

}  // namespace
}  // namespace baton::net
