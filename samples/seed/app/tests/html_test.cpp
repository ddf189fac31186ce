#include "html.h"

#include <gtest/gtest.h>

namespace seed {
namespace {

TEST(EscapeHtml, TurnsMarkupCharactersIntoEntities) {
  EXPECT_EQ(EscapeHtml("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
}

TEST(EscapeHtml, LeavesPlainTextAlone) { EXPECT_EQ(EscapeHtml("basil 7 days"), "basil 7 days"); }

TEST(EscapeJson, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(EscapeJson("say \"hi\"\\\n\t"), "say \\\"hi\\\"\\\\\\n\\u0009");
}

}  // namespace
}  // namespace seed
