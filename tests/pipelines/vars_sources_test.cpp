// Run-time var lookups: exact names (load_var), resolvers, and a pipeline's var_sources.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/pipelines/loader.h"
#include "baton/pipelines/vars.h"

namespace baton::pipelines {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

VarRef Ref(const std::string& text) {
  auto ref = ParseVarRef(text);
  EXPECT_TRUE(ref.ok()) << text;
  return ref.ok() ? *ref : VarRef{};
}

TEST(Vars, SetExactKeepsADottedNameWholeForAQuotedReference) {
  Vars vars;
  vars.SetExact("local.var", Json("hello-world"));
  EXPECT_EQ(vars.Lookup(Ref(R"("local.var")")), Json("hello-world"));
  EXPECT_EQ(vars.Lookup(Ref("local.var")), std::nullopt) << "unquoted means field `var` of `local`";
}

TEST(Vars, FieldsWalkMapsButNotListsAsInConcourse) {
  Vars vars;
  vars.Set("v", Json{{"list", {"a", "b"}}, {"map", {{"k", "x"}}}});
  EXPECT_EQ(vars.Lookup(Ref("v.map.k")), Json("x"));
  EXPECT_EQ(vars.Lookup(Ref("v.list.0")), std::nullopt);
}

TEST(InterpolateJsonWith, AskTheResolverForEveryReference) {
  std::vector<std::string> asked;
  VarResolver resolve = [&](const VarRef& ref) -> std::optional<Json> {
    asked.push_back(ref.text);
    if (ref.source == "s") return Json(ref.name + "!");
    return std::nullopt;
  };
  std::vector<std::string> unresolved;
  Json out = InterpolateJsonWith(Json{{"a", "((s:x))"}, {"b", "<((y))>"}}, resolve, &unresolved);
  EXPECT_EQ(out, (Json{{"a", "x!"}, {"b", "<((y))>"}}));
  EXPECT_THAT(asked, ElementsAre("s:x", "y"));
  EXPECT_THAT(unresolved, ElementsAre("y"));
  EXPECT_EQ(InterpolateStringWith("((s:z)) and ((s:w))", resolve, nullptr), "z! and w!");
}

VarSources Dummy() {
  VarSource vs;
  vs.name = "vs";
  vs.type = "dummy";
  vs.config = Json{{"vars",
                    {{"some_var", "hello-im-a-var"},
                     {"n", 42},
                     {"var:with.and_colon", {{"some_key", "some-value"}}}}}};
  vs.mark = {3, 9};
  VarSource vault;
  vault.name = "vault";
  vault.type = "vault";
  vault.mark = {7, 9};
  return VarSources({vs, vault}, "ci/pipeline.yml");
}

TEST(VarSources, ADummySourceResolvesVarsAndFields) {
  VarSources sources = Dummy();
  EXPECT_TRUE(sources.Has("vs"));
  EXPECT_FALSE(sources.Has("other"));
  EXPECT_EQ(*sources.Lookup(Ref("vs:some_var")), Json("hello-im-a-var"));
  EXPECT_EQ(*sources.Lookup(Ref(R"(vs:"var:with.and_colon".some_key)")), Json("some-value"));
  EXPECT_EQ(*sources.Lookup(Ref("vs:missing")), std::nullopt);
}

TEST(VarSources, ASourceBatonCannotReadIsAnErrorNamingWhereItIsDeclared) {
  auto found = Dummy().Lookup(Ref("vault:token"));
  ASSERT_FALSE(found.ok());
  EXPECT_THAT(found.status().message(),
              HasSubstr("ci/pipeline.yml:7:9: var source `vault` of type `vault` cannot be read"));
  EXPECT_THAT(found.status().message(), HasSubstr("((vault:token))"));
}

TEST(VarSources, InterpolateResolvesDeclaredSourcesOnlyAndCollectsTheStringsUsed) {
  std::vector<std::string> credentials;
  auto out = Dummy().Interpolate(
      Json{{"a", "((vs:some_var))"}, {"n", "((vs:n))"}, {"keep", "((other:x)) ((.:y)) ((z))"}},
      &credentials);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out,
            (Json{{"a", "hello-im-a-var"}, {"n", 42}, {"keep", "((other:x)) ((.:y)) ((z))"}}));
  EXPECT_THAT(credentials, ElementsAre("hello-im-a-var"));
}

TEST(VarSources, InterpolateErrorsOnAnUndefinedVarOrAnUnreadableSource) {
  auto undefined = Dummy().Interpolate(Json("((vs:nope))"), nullptr);
  ASSERT_FALSE(undefined.ok());
  EXPECT_EQ(undefined.status().message(), "undefined var: vs:nope");
  EXPECT_FALSE(Dummy().Interpolate(Json("((vault:x))"), nullptr).ok());
}

TEST(CollectCredentialStrings, TracksStringsAndMapLeavesButNotListsOrNumbers) {
  std::vector<std::string> out;
  CollectCredentialStrings(
      Json{{"user", "admin"}, {"port", 5432}, {"hosts", {"a", "b"}}, {"empty", ""}}, out);
  CollectCredentialStrings(Json{"x", "y"}, out);
  CollectCredentialStrings(Json("plain"), out);
  EXPECT_THAT(out, ElementsAre("admin", "plain"));
}

PipelineLoad LoadWithVarSource(const std::string& source) {
  LoadOptions options;
  options.file_name = "p.yml";
  return LoadPipeline(
      "var_sources:\n" + source +
          "jobs:\n- name: j\n  plan:\n  - task: t\n"
          "    config: {platform: linux, run: {path: echo, args: [\"((vs:x))\"]}}\n",
      options);
}

TEST(ValidateVarSources, AnUnknownTypeIsAnErrorAtTheSourcesName) {
  PipelineLoad load = LoadWithVarSource("- name: vs\n  type: bogus\n  config: {}\n");
  ASSERT_EQ(load.diagnostics.ErrorCount(), 1u) << RenderAll(load.diagnostics, "");
  const Diagnostic& d = load.diagnostics.items().front();
  EXPECT_EQ(d.mark.line, 2);
  EXPECT_EQ(d.mark.column, 9);
  EXPECT_EQ(d.message, "var source `vs`: unknown credential manager type `bogus`");
}

TEST(ValidateVarSources, ADummySourceNeedsVars) {
  PipelineLoad load = LoadWithVarSource("- name: vs\n  type: dummy\n  config: {}\n");
  ASSERT_EQ(load.diagnostics.ErrorCount(), 1u);
  EXPECT_EQ(load.diagnostics.items().front().message, "var source `vs`: invalid vars config");
}

TEST(ValidateVarSources, KnownManagersAndAWellFormedDummyAreValid) {
  EXPECT_EQ(LoadWithVarSource("- name: vs\n  type: vault\n  config: {url: http://v}\n")
                .diagnostics.ErrorCount(),
            0u);
  EXPECT_EQ(LoadWithVarSource("- name: vs\n  type: dummy\n  config: {vars: {x: 1}}\n")
                .diagnostics.ErrorCount(),
            0u);
}

}  // namespace
}  // namespace baton::pipelines
