// Issue 9, redaction end to end: a task under the real `baton run` prints a loaded secret
// JSON-escaped, URL-encoded and base64-encoded at the three alignments; none of it reaches the
// build log in clear.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"
#include "security/encoded_forms.h"

namespace baton::testing {
namespace {

using nlohmann::json;

const std::string kEncodedSecret = R"(s3cr3t "pa/ss" +key)";
const std::string kJsonForm = R"(s3cr3t \"pa/ss\" +key)";
const std::string kUrlForm = "s3cr3t%20%22pa%2Fss%22%20%2Bkey";

// The pipeline as JSON (YAML's subset), so the secret needs no YAML quoting.
std::string Pipeline() {
  std::string script =
      "cat vault/json; echo; cat vault/url; echo; "
      "printf %s \"$S\" | base64 -w0; echo; "
      "printf x%s \"$S\" | base64 -w0; echo; "
      "printf xy%s \"$S\" | base64 -w0; echo; echo done";
  json pipeline = {{"resources",
                    {{{"name", "vault"},
                      {"type", "mock"},
                      {"source",
                       {{"create_files",
                         {{"token", kEncodedSecret}, {"json", kJsonForm}, {"url", kUrlForm}}}}}}}},
                   {"jobs",
                    {{{"name", "job"},
                      {"plan",
                       {{{"get", "vault"}},
                        {{"load_var", "token"}, {"file", "vault/token"}},
                        {{"task", "print"},
                         {"config",
                          {{"platform", "linux"},
                           {"inputs", {{{"name", "vault"}}}},
                           {"params", {{"S", "((.:token))"}}},
                           {"run", {{"path", "sh"}, {"args", {"-c", script}}}}}}}}}}}}};
  return pipeline.dump(2);
}

TEST(RedactionEncodedRun, EveryEncodedFormATaskPrintsIsRedacted) {
  TempDir dir;
  WriteFile(dir / "pipeline.yml", Pipeline());
  ProcessResult r = RunBaton(
      {"run", "-c", (dir / "pipeline.yml").string(), "--data-dir", (dir / "data").string()});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  ASSERT_NE(r.out.find("done"), std::string::npos) << r.out;  // the task did print
  for (const std::string& clear : {kEncodedSecret, kJsonForm, kUrlForm}) {
    EXPECT_EQ(r.out.find(clear), std::string::npos) << "\"" << clear << "\" in\n" << r.out;
  }
  // Any 8 characters from the middle of each base64 text would give the secret's bytes away.
  for (const char* prefix : {"", "x", "xy"}) {
    std::string encoded = B64(std::string(prefix) + kEncodedSecret);
    EXPECT_EQ(r.out.find(encoded.substr(4, 16)), std::string::npos)
        << "base64 of \"" << prefix << "\" + secret in\n"
        << r.out;
  }
  EXPECT_GE(CountOccurrences(r.out, "((redacted))"), 5u) << r.out;
}

}  // namespace
}  // namespace baton::testing
