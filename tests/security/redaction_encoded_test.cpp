// Issue 9, redaction: a secret printed JSON-escaped, URL-encoded or base64-encoded (at any of
// the three alignments inside a longer base64 text) is redacted like the secret itself, and
// short secrets do not mask common fragments of unrelated text.
#include <gtest/gtest.h>

#include <string>

#include "baton/runner/redactor.h"
#include "security/encoded_forms.h"

namespace baton::runner {
namespace {

using baton::testing::B64;

const std::string kSecret = "p@ss w0rd/\"quoted\"+é";

Redactor WithSecret(const std::string& secret = kSecret) {
  Redactor r;
  r.Add({secret});
  return r;
}

TEST(RedactionEncoded, TheBase64HelperOfThisTestIsRight) {
  EXPECT_EQ(B64("hello"), "aGVsbG8=");
  EXPECT_EQ(B64("hi!"), "aGkh");
}

TEST(RedactionEncoded, TheSecretItselfIsRedacted) {
  EXPECT_EQ(WithSecret().Redact("x " + kSecret + " y"), "x ((redacted)) y");
}

TEST(RedactionEncoded, TheJsonEscapedFormIsRedacted) {
  std::string json = nlohmann::json(kSecret).dump();  // "p@ss w0rd/\"quoted\"+é"
  std::string out = WithSecret().Redact(R"J({"password":)J" + json + "}");
  EXPECT_EQ(out, R"J({"password":"((redacted))"})J");
}

TEST(RedactionEncoded, TheAsciiJsonEscapedFormIsRedacted) {
  std::string json = nlohmann::json(kSecret).dump(-1, ' ', true);  // é as \u00e9
  ASSERT_NE(json.find("\\u00e9"), std::string::npos);
  EXPECT_EQ(WithSecret().Redact(json), "\"((redacted))\"");
}

TEST(RedactionEncoded, TheUrlEncodedFormsAreRedacted) {
  Redactor r = WithSecret();
  EXPECT_EQ(r.Redact("https://h/?pw=p%40ss%20w0rd%2F%22quoted%22%2B%C3%A9&x=1"),
            "https://h/?pw=((redacted))&x=1");
  EXPECT_EQ(r.Redact("pw=p%40ss+w0rd%2f%22quoted%22%2b%c3%a9"), "pw=((redacted))");
}

TEST(RedactionEncoded, TheBase64FormIsRedactedAtEachOfTheThreeAlignments) {
  Redactor r = WithSecret();
  for (const std::string prefix : {"", "a", "ab"}) {
    for (const std::string suffix : {"", "z", "zz"}) {
      std::string encoded = B64(prefix + kSecret + suffix);
      std::string out = r.Redact("token: " + encoded);
      EXPECT_NE(out.find("((redacted))"), std::string::npos)
          << "prefix \"" << prefix << "\" suffix \"" << suffix << "\": " << out;
      // What is left of the encoded text is shorter than any 4 characters of the secret's.
      EXPECT_LE(out.size(), std::string("token: ((redacted))").size() + 12) << out;
    }
  }
}

TEST(RedactionEncoded, TheUrlSafeBase64FormIsRedacted) {
  std::string encoded = B64("~~>>" + kSecret);
  for (char& c : encoded) c = c == '+' ? '-' : c == '/' ? '_' : c;
  EXPECT_NE(WithSecret().Redact(encoded).find("((redacted))"), std::string::npos);
}

TEST(RedactionEncoded, AShortSecretIsRedactedAsWrittenButNotInEncodedForms) {
  Redactor r = WithSecret("abc1");
  EXPECT_EQ(r.Redact("key=abc1"), "key=((redacted))");
  // base64("abc1") is "YWJjMQ==": its fragments turn up in unrelated base64 text.
  EXPECT_EQ(r.Redact("YWJjMQ== and YWJj"), "YWJjMQ== and YWJj");
  EXPECT_TRUE(Redactor::EncodedForms("abc1").empty());
}

TEST(RedactionEncoded, EncodedFormsNeverIncludeFragmentsShorterThanTheMinimum) {
  for (const auto& form : Redactor::EncodedForms("s3cr3t")) {
    EXPECT_GE(form.size(), Redactor::kMinEncodedForm) << form;
  }
  EXPECT_FALSE(Redactor::EncodedForms("s3cr3t").empty());
}

TEST(RedactionEncoded, AMultiLineSecretEncodedWholeIsRedacted) {
  std::string key = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END KEY-----\n";
  Redactor r = WithSecret(key);
  std::string out = r.Redact(B64(key));
  EXPECT_NE(out.find("((redacted))"), std::string::npos) << out;
  EXPECT_EQ(out.find(B64(key).substr(8, 20)), std::string::npos) << out;
}

TEST(RedactionEncoded, UnrelatedTextIsLeftAlone) {
  Redactor r = WithSecret();
  std::string text = "building p@ss-word w0rd aGVsbG8= %40 done";
  EXPECT_EQ(r.Redact(text), text);
}

}  // namespace
}  // namespace baton::runner
