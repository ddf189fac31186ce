#include "baton/pipelines/vars.h"

#include <gtest/gtest.h>

#include "baton/pipelines/loader.h"
#include "fakes/test_env.h"

namespace baton::pipelines {
namespace {

TEST(VarRef, ParsesSourceNameAndFields) {
  auto ref = ParseVarRef(" vault:creds.user.name ");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->source, "vault");
  EXPECT_EQ(ref->name, "creds");
  EXPECT_EQ(ref->fields, (std::vector<std::string>{"user", "name"}));
  EXPECT_EQ(ref->text, "vault:creds.user.name");
}

TEST(VarRef, QuotedSegmentsMayHoldDotsAndColons) {
  auto ref = ParseVarRef(R"(vs:"var:with.and_colon".some_key)");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->source, "vs");
  EXPECT_EQ(ref->name, "var:with.and_colon");
  EXPECT_EQ(ref->fields, std::vector<std::string>{"some_key"});

  auto local = ParseVarRef(R"(.:"local.var")");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->source, ".");
  EXPECT_EQ(local->name, "local.var");
}

TEST(VarRef, RejectsEmptyAndMalformedReferences) {
  EXPECT_FALSE(ParseVarRef("").ok());
  EXPECT_FALSE(ParseVarRef("a..b").ok());
  EXPECT_FALSE(ParseVarRef("\"unterminated").ok());
  EXPECT_FALSE(ParseVarRef("1 + 2").ok());
}

TEST(FindVarRefs, FindsEveryWellFormedReferenceInOrder) {
  auto refs = FindVarRefs("echo ((a)) and $((1 + 2)) then ((b.c))");
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].name, "a");
  EXPECT_EQ(refs[1].name, "b");
}

TEST(Vars, DottedStringFlagSetsANestedField) {
  Vars vars;
  ASSERT_TRUE(vars.AddStringFlag("db.user=admin").ok());
  ASSERT_TRUE(vars.AddStringFlag("db.port=5432").ok());
  EXPECT_EQ(vars.values().at("db"), (Json{{"user", "admin"}, {"port", "5432"}}));
  auto ref = ParseVarRef("db.user");
  EXPECT_EQ(vars.Lookup(*ref), Json("admin"));
}

TEST(Vars, StringFlagKeepsEverythingAfterTheFirstEqualsSign) {
  Vars vars;
  ASSERT_TRUE(vars.AddStringFlag("query=a=b").ok());
  EXPECT_EQ(vars.values().at("query"), Json("a=b"));
  EXPECT_FALSE(vars.AddStringFlag("no-equals").ok());
  EXPECT_FALSE(vars.AddStringFlag("=value").ok());
}

TEST(Vars, YamlFlagParsesTheValueAsYaml) {
  Vars vars;
  ASSERT_TRUE(vars.AddYamlFlag("tags=[a, b]").ok());
  ASSERT_TRUE(vars.AddYamlFlag("count=3").ok());
  ASSERT_TRUE(vars.AddYamlFlag("flag=true").ok());
  EXPECT_EQ(vars.values().at("tags"), (Json{"a", "b"}));
  EXPECT_EQ(vars.values().at("count"), Json(3));
  EXPECT_EQ(vars.values().at("flag"), Json(true));
  EXPECT_FALSE(vars.AddYamlFlag("bad=[unclosed").ok());
}

TEST(Vars, FileLoadsEveryTopLevelKey) {
  testing::TempDir dir;
  testing::WriteFile(dir / "vars.yml", "image: {repository: alpine}\nreplicas: 2\n");
  Vars vars;
  ASSERT_TRUE(vars.AddFile((dir / "vars.yml").string()).ok());
  EXPECT_EQ(vars.values().at("image"), (Json{{"repository", "alpine"}}));
  EXPECT_EQ(vars.values().at("replicas"), Json(2));
}

TEST(Vars, FileErrorsNameThePath) {
  Vars vars;
  Status missing = vars.AddFile("/nonexistent/vars.yml");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.ToString().find("/nonexistent/vars.yml"), std::string::npos);
  testing::TempDir dir;
  testing::WriteFile(dir / "list.yml", "- a\n- b\n");
  EXPECT_FALSE(vars.AddFile((dir / "list.yml").string()).ok());
}

TEST(Vars, LaterValuesWin) {
  Vars vars;
  vars.Set("a", Json(1));
  vars.Set("a", Json(2));
  EXPECT_EQ(vars.values().at("a"), Json(2));
}

TEST(InterpolateJson, AWholeStringVarIsReplacedByAValueOfAnyType) {
  Vars vars;
  vars.Set("tags", Json{"x", "y"});
  vars.Set("port", Json(8080));
  Json in = {{"tags", "((tags))"}, {"port", "((port))"}, {"url", "http://host:((port))/"}};
  std::vector<std::string> unresolved;
  Json out = InterpolateJson(in, vars, &unresolved);
  EXPECT_EQ(out["tags"], (Json{"x", "y"}));
  EXPECT_EQ(out["port"], Json(8080));
  EXPECT_EQ(out["url"], Json("http://host:8080/"));
  EXPECT_TRUE(unresolved.empty());
}

TEST(InterpolateJson, UnresolvedVarsStayAsTextAndAreReported) {
  Vars vars;
  Json in = {{"a", "((missing))"}, {"b", "x-((other.field))-y"}, {"c", {"((missing))"}}};
  std::vector<std::string> unresolved;
  Json out = InterpolateJson(in, vars, &unresolved);
  EXPECT_EQ(out, in);
  EXPECT_EQ(unresolved, (std::vector<std::string>{"missing", "other.field", "missing"}));
}

TEST(InterpolateJson, LocalVarsComeFromTheLocalStore) {
  Vars vars, local;
  local.Set("version", Json("1.2.3"));
  Json out = InterpolateJson(Json{{"v", "((.:version))"}}, vars, nullptr, &local);
  EXPECT_EQ(out["v"], Json("1.2.3"));
  std::vector<std::string> unresolved;
  InterpolateJson(Json{{"v", "((.:version))"}}, vars, &unresolved);
  EXPECT_EQ(unresolved, std::vector<std::string>{".:version"});
}

TEST(InterpolateJson, KeysAreInterpolatedToo) {
  Vars vars;
  vars.Set("env", Json("prod"));
  Json out = InterpolateJson(Json{{"((env))-url", "x"}}, vars, nullptr);
  EXPECT_EQ(out, (Json{{"prod-url", "x"}}));
}

TEST(InterpolateString, EmbedsNonStringValuesAsJsonText) {
  Vars vars;
  vars.Set("n", Json(3));
  vars.Set("m", Json{{"k", "v"}});
  EXPECT_EQ(InterpolateString("n=((n)) m=((m))", vars, nullptr), R"(n=3 m={"k":"v"})");
  EXPECT_EQ(InterpolateString("((n))", vars, nullptr), "3");
}

TEST(InterpolateString, QuotedSegmentsLookUpKeysWithDots) {
  Vars vars;
  vars.Set("\"a.b\"", Json{{"c", "found"}});
  EXPECT_EQ(vars.values().count("a.b"), 1u);
  EXPECT_EQ(InterpolateString(R"(x (("a.b".c)))", vars, nullptr), "x found");
}

}  // namespace
}  // namespace baton::pipelines
