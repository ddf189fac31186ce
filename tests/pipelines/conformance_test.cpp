// Holds Baton to the `notes` column of ../shared/conformance/concourse/SOURCES.tsv: every file
// listed there is one test case, read in place.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "baton/common/strings.h"
#include "baton/pipelines/loader.h"
#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::pipelines {
namespace {

namespace fs = std::filesystem;

struct SourceRow {
  std::string file;
  std::string path;  // path in concourse/concourse
  std::string kind;  // pipeline | task | vars
  std::string notes;
};

void PrintTo(const SourceRow& row, std::ostream* os) { *os << row.file; }

fs::path ConformanceDir() { return testing::SharedDir() / "conformance" / "concourse"; }

std::vector<SourceRow> ReadSources() {
  std::vector<SourceRow> rows;
  std::istringstream in(testing::ReadFile(ConformanceDir() / "SOURCES.tsv"));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::istringstream fields(line);
    for (std::string col; std::getline(fields, col, '\t');) cols.push_back(col);
    if (cols.size() < 12) continue;
    rows.push_back({cols[0], cols[2], cols[4], cols[11]});
  }
  return rows;
}

// Substrings in single quotes after `marker` in the notes ("... 'a' + 'b'").
std::vector<std::string> QuotedAfter(const std::string& notes, const std::string& marker) {
  std::vector<std::string> out;
  size_t pos = notes.find(marker);
  while (pos != std::string::npos) {
    size_t open = notes.find('\'', pos);
    if (open == std::string::npos) break;
    size_t close = notes.find('\'', open + 1);
    if (close == std::string::npos) break;
    out.push_back(notes.substr(open + 1, close - open - 1));
    pos = close + 1;
  }
  return out;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string Messages(const Diagnostics& diags, Severity severity) {
  std::string out;
  for (const auto& d : diags.items()) {
    if (d.severity == severity) out += d.message + "\n";
  }
  return out;
}

PipelineLoad Load(const SourceRow& row, const Vars* vars = nullptr, bool strict = false) {
  LoadOptions options;
  options.file_name = row.file;
  options.vars = vars;
  options.strict = strict;
  return LoadPipeline(testing::ReadFile(ConformanceDir() / row.file), options);
}

struct CliResult {
  int exit_code = -1;
  std::string output;
};

CliResult RunValidateCli(const std::string& file, const std::string& extra) {
  auto r = testing::RunBatonShell("validate-pipeline -c '" + (ConformanceDir() / file).string() +
                                  "' " + extra);
  return {r.exit_code, r.All()};
}

class ConcourseConformance : public ::testing::TestWithParam<SourceRow> {};

void CheckInvalid(const SourceRow& row) {
  std::string notes = row.notes;
  PipelineLoad load = Load(row);
  ASSERT_TRUE(load.diagnostics.HasErrors()) << "expected invalid: " << notes;
  std::string errors = Messages(load.diagnostics, Severity::kError);
  for (const auto& substance : QuotedAfter(notes, "EXPECT INVALID")) {
    if (substance == "configuration invalid") continue;  // the CLI's closing line, below
    EXPECT_TRUE(Contains(errors, substance)) << "missing '" << substance << "' in:\n" << errors;
  }
  if (Contains(notes, "(warning)")) {
    EXPECT_GT(load.diagnostics.WarningCount(), 0u) << RenderAll(load.diagnostics, "");
  }
  if (Contains(notes, "configuration invalid")) {
    CliResult cli = RunValidateCli(row.file, Contains(notes, "--strict") ? "--strict" : "");
    EXPECT_EQ(cli.exit_code, 1) << cli.output;
    EXPECT_TRUE(Contains(cli.output, "configuration invalid")) << cli.output;
  }
}

void CheckValid(const SourceRow& row) {
  const std::string& notes = row.notes;
  PipelineLoad load = Load(row);
  ASSERT_TRUE(load.config.has_value());
  EXPECT_FALSE(load.diagnostics.HasErrors()) << RenderAll(load.diagnostics, "");
  if (StartsWith(row.path, "testflight/")) {
    // Real working pipelines from Concourse's own end-to-end suite: not even a warning.
    EXPECT_EQ(load.diagnostics.WarningCount(), 0u) << RenderAll(load.diagnostics, "");
  }
  if (Contains(notes, "with --strict EXPECT INVALID")) {
    PipelineLoad strict = Load(row, nullptr, /*strict=*/true);
    std::string errors = Messages(strict.diagnostics, Severity::kError);
    for (auto substance : QuotedAfter(notes, "with --strict EXPECT INVALID")) {
      if (StartsWith(substance, "json: ")) substance = substance.substr(6);  // Go's decoder
      EXPECT_TRUE(Contains(errors, substance)) << "missing '" << substance << "' in:\n" << errors;
    }
  }
  if (Contains(notes, "'looks good'")) {
    CliResult cli = RunValidateCli(row.file, "");
    EXPECT_EQ(cli.exit_code, 0) << cli.output;
    EXPECT_TRUE(Contains(cli.output, "looks good")) << cli.output;
  }
}

// vars-pipeline.yml: reports its unresolved vars without values, validates with -l vars.yml.
void CheckTemplate(const SourceRow& row) {
  PipelineLoad bare = Load(row);
  EXPECT_FALSE(bare.diagnostics.HasErrors()) << RenderAll(bare.diagnostics, "");
  std::vector<std::string> names;
  for (const auto& v : bare.unresolved_vars) names.push_back(v.name);
  EXPECT_NE(std::find(names.begin(), names.end(), "param-a"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "array-param"), names.end());
  for (const auto& v : bare.unresolved_vars) EXPECT_TRUE(v.mark.known()) << v.name;

  Vars vars;
  for (const auto& other : ReadSources()) {
    if (other.kind == "vars") {
      ASSERT_TRUE(vars.AddFile((ConformanceDir() / other.file).string()).ok());
    }
  }
  PipelineLoad with_file = Load(row, &vars);
  EXPECT_FALSE(with_file.diagnostics.HasErrors()) << RenderAll(with_file.diagnostics, "");
}

TEST_P(ConcourseConformance, BehavesAsTheNotesColumnSays) {
  const SourceRow& row = GetParam();
  SCOPED_TRACE(row.file + " — " + row.notes);
  if (row.kind == "vars") {
    Vars vars;
    Status s = vars.AddFile((ConformanceDir() / row.file).string());
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_FALSE(vars.empty());
  } else if (row.kind == "task") {
    LoadOptions options;
    options.file_name = row.file;
    TaskLoad load = LoadTaskConfig(testing::ReadFile(ConformanceDir() / row.file), options);
    ASSERT_TRUE(load.ok()) << RenderAll(load.diagnostics, "");
    EXPECT_FALSE(load.config->platform.empty());
    EXPECT_FALSE(load.config->run.path.empty());
    EXPECT_TRUE(load.config->image_resource.has_value());
  } else if (Contains(row.notes, "EXPECT INVALID") &&
             !Contains(row.notes, "with --strict EXPECT INVALID")) {
    CheckInvalid(row);
  } else {
    CheckValid(row);
    if (Contains(row.notes, "needing -v/-l vars")) CheckTemplate(row);
  }
}

std::string RowName(const ::testing::TestParamInfo<SourceRow>& info) {
  std::string name = info.param.file.substr(0, info.param.file.rfind('.'));
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(SourcesTsv, ConcourseConformance, ::testing::ValuesIn(ReadSources()),
                         RowName);

TEST(ConcourseConformanceTable, ListsEveryFileInTheDirectory) {
  auto rows = ReadSources();
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(ConformanceDir())) {
    if (entry.path().extension() == ".yml") ++files;
  }
  EXPECT_EQ(rows.size(), files);
  EXPECT_GE(rows.size(), 40u);
}

}  // namespace
}  // namespace baton::pipelines
