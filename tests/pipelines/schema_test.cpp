// The JSON Schemas, checked with a real validator (Debian's python3-jsonschema, draft 2020-12)
// against Concourse's own pipeline and task files, read in place from the shared conformance data.
#include "baton/pipelines/schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::pipelines {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

// Loads YAML with the YAML 1.2 core schema, as editors do (PyYAML's 1.1 defaults would turn
// `no` into false and dates into datetimes), validates it, and prints one line per file:
// "VALID <path>" or "INVALID <path> at <json path>: <message>".
constexpr const char* kValidatorScript = R"PY(
import json, re, sys, yaml, jsonschema
class Loader(yaml.SafeLoader):
    pass
Loader.yaml_implicit_resolvers = {
    k: [(t, r) for t, r in v
        if t not in ('tag:yaml.org,2002:bool', 'tag:yaml.org,2002:timestamp')]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Loader.add_implicit_resolver('tag:yaml.org,2002:bool',
    re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$'), list('tTfF'))
def keys_to_str(x):
    if isinstance(x, dict):
        return {str(k): keys_to_str(v) for k, v in x.items()}
    if isinstance(x, list):
        return [keys_to_str(v) for v in x]
    return x
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    with open(path) as f:
        doc = keys_to_str(yaml.load(f, Loader=Loader))
    err = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if err is None:
        print('VALID ' + path)
    else:
        where = '/'.join(str(p) for p in err.absolute_path)
        print('INVALID ' + path + ' at ' + where + ': ' + err.message.replace('\n', ' ')[:300])
)PY";

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct SchemaCommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

SchemaCommandResult RunCommand(const std::string& command) {
  auto r = testing::RunProcess({"/bin/sh", "-c", command});
  return {r.exit_code, r.All()};
}

// Validates `files` against `schema`; returns each file's verdict line ("VALID ..."), by path.
std::map<std::string, std::string> Validate(const json& schema,
                                            const std::vector<fs::path>& files) {
  TempDir dir;
  WriteFile(dir / "schema.json", schema.dump(2));
  std::string command = "/usr/bin/python3 -c " + ShellQuote(kValidatorScript) + " " +
                        ShellQuote((dir / "schema.json").string());
  for (const auto& f : files) command += " " + ShellQuote(f.string());
  SchemaCommandResult result = RunCommand(command);
  EXPECT_EQ(result.exit_code, 0) << "validator failed (is python3-jsonschema installed?):\n"
                                 << result.output;
  std::map<std::string, std::string> verdicts;
  std::istringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) {
    for (const char* verdict : {"VALID ", "INVALID "}) {
      if (line.rfind(verdict, 0) != 0) continue;
      std::string rest = line.substr(std::string(verdict).size());
      verdicts[rest.substr(0, rest.find(" at "))] = line;
    }
  }
  return verdicts;
}

// Conformance files of `kind` from SOURCES.tsv, leaving out those expected to be invalid.
std::vector<fs::path> ConformanceFiles(const std::string& kind) {
  const fs::path dir = testing::SharedDir() / "conformance" / "concourse";
  std::istringstream tsv(ReadFile(dir / "SOURCES.tsv"));
  std::vector<fs::path> files;
  for (std::string line; std::getline(tsv, line);) {
    std::vector<std::string> cols;
    std::istringstream fields(line);
    for (std::string col; std::getline(fields, col, '\t');) cols.push_back(col);
    if (cols.size() < 12 || cols[4] != kind) continue;
    if (cols[11].find("EXPECT INVALID") != std::string::npos) continue;
    files.push_back(dir / cols[0]);
  }
  return files;
}

void ExpectAllValid(const json& schema, const std::vector<fs::path>& files) {
  auto verdicts = Validate(schema, files);
  for (const auto& f : files) {
    ASSERT_TRUE(verdicts.count(f.string())) << "no verdict for " << f;
    EXPECT_EQ(verdicts[f.string()], "VALID " + f.string());
  }
}

TEST(Schema, PipelineSchemaIsDraft202012WithEveryTopLevelSection) {
  const json schema = PipelineSchema();
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
  std::set<std::string> sections;
  for (const auto& [key, value] : schema["properties"].items()) sections.insert(key);
  EXPECT_THAT(sections, ::testing::UnorderedElementsAre("resources", "resource_types", "jobs",
                                                        "groups", "var_sources", "display"));
  EXPECT_EQ(schema["additionalProperties"], true);
  EXPECT_EQ(TaskSchema()["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

TEST(Schema, JobSchemaHasEveryFieldOfTheModel) {
  const json schema = PipelineSchema();
  const json& job = schema["$defs"]["job"]["properties"];
  for (const char* field :
       {"name", "plan", "old_name", "serial", "serial_groups", "max_in_flight",
        "build_log_retention", "public", "disable_manual_trigger", "interruptible", "on_success",
        "on_failure", "on_error", "on_abort", "ensure"}) {
    EXPECT_TRUE(job.contains(field)) << field;
  }
}

TEST(Schema, EveryFieldCarriesADescriptionForEditors) {
  const json defs = PipelineSchema()["$defs"];
  int fields = 0;
  for (const auto& [name, def] : defs.items()) {
    if (!def.contains("properties")) continue;
    for (const auto& [field, property] : def["properties"].items()) {
      ++fields;
      bool described = property.contains("description") || property.contains("$ref");
      EXPECT_TRUE(described) << name << "." << field;
    }
  }
  EXPECT_GT(fields, 80);
}

TEST(Schema, EveryValidConcoursePipelineValidates) {
  const auto files = ConformanceFiles("pipeline");
  ASSERT_GE(files.size(), 30u);
  ExpectAllValid(PipelineSchema(), files);
}

TEST(Schema, EveryConcourseTaskFileValidatesAgainstTheTaskSchema) {
  const auto files = ConformanceFiles("task");
  ASSERT_GE(files.size(), 2u);
  ExpectAllValid(TaskSchema(), files);
}

TEST(Schema, AcceptsVarsWhereverATypedValueIsExpectedAndUnknownTopLevelKeys) {
  TempDir dir;
  WriteFile(dir / "vars.yml", R"(
anchors: &get {get: repo}
jobs:
- name: build
  serial: ((serial))
  max_in_flight: ((n))
  serial_groups: ((groups))
  plan:
  - <<: *get
    tags: ((tags))
    trigger: ((trigger))
    version: ((version))
    timeout: ((timeout))
    attempts: ((attempts))
  - in_parallel:
      limit: 2
      fail_fast: true
      steps:
      - try: {do: [{put: repo, inputs: detect, no_get: true}]}
  - across: [{var: v, values: ((list)), max_in_flight: all}]
    fail_fast: true
    task: t
    file: repo/t.yml
    privileged: ((priv))
    ensure: {load_var: l, file: repo/v, format: json}
    on_failure: {set_pipeline: self, file: repo/p.yml, vars: ((vars))}
)");
  ExpectAllValid(PipelineSchema(), {dir / "vars.yml"});
}

TEST(Schema, RejectsBrokenPipelines) {
  const std::map<std::string, std::string> broken = {
      {"two-core-steps", "jobs: [{name: j, plan: [{get: a, put: b}]}]"},
      {"unknown-step-field", "jobs: [{name: j, plan: [{get: a, trigerr: true}]}]"},
      {"unknown-job-field", "jobs: [{name: j, serial_group: [x], plan: []}]"},
      {"job-without-plan", "jobs: [{name: j}]"},
      {"bad-duration", "jobs: [{name: j, plan: [{get: a, timeout: 5 minutes}]}]"},
      {"task-without-run", "jobs: [{name: j, plan: [{task: t, config: {platform: linux}}]}]"},
      {"task-file-and-config",
       "jobs: [{name: j, plan: [{task: t, file: a/t.yml, config: {run: {path: x}}}]}]"},
      {"bool-not-a-bool", "jobs: [{name: j, serial: maybe, plan: []}]"},
      {"attempts-zero", "jobs: [{name: j, plan: [{get: a, attempts: 0}]}]"},
      {"in-parallel-number", "jobs: [{name: j, plan: [{in_parallel: 3}]}]"},
      {"resource-without-type", "resources: [{name: r}]"},
      {"embedded-var-in-a-bool", "jobs: [{name: j, public: yes-((x)), plan: []}]"},
      {"no-core-step", "jobs: [{name: j, plan: [{timeout: 1h}]}]"},
  };
  TempDir dir;
  std::vector<fs::path> files;
  for (const auto& [name, yaml] : broken) {
    files.push_back(dir / (name + ".yml"));
    WriteFile(files.back(), yaml + "\n");
  }
  auto verdicts = Validate(PipelineSchema(), files);
  for (const auto& f : files) {
    EXPECT_EQ(verdicts[f.string()].rfind("INVALID ", 0), 0u) << f << ": " << verdicts[f.string()];
  }
}

TEST(Schema, RejectsABrokenTaskFile) {
  TempDir dir;
  WriteFile(dir / "task.yml", "platform: linux\nrun: {path: x, argz: [a]}\n");
  auto verdicts = Validate(TaskSchema(), {dir / "task.yml"});
  EXPECT_EQ(verdicts[(dir / "task.yml").string()].rfind("INVALID ", 0), 0u);
}

TEST(Schema, BatonSchemaCommandPrintsBothSchemas) {
  SchemaCommandResult pipeline =
      RunCommand(ShellQuote(testing::BatonBinary().string()) + " schema");
  ASSERT_EQ(pipeline.exit_code, 0) << pipeline.output;
  EXPECT_EQ(json::parse(pipeline.output), PipelineSchema());
  SchemaCommandResult task =
      RunCommand(ShellQuote(testing::BatonBinary().string()) + " schema --task");
  ASSERT_EQ(task.exit_code, 0) << task.output;
  EXPECT_EQ(json::parse(task.output), TaskSchema());
}

}  // namespace
}  // namespace baton::pipelines
