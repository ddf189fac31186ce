// Table-driven test over tests/data/pipelines/*.yml. Each file carries its expected outcome in
// comments:
//   # expect: LINE:COL: message substring          (an error)
//   # expect-warning: LINE:COL: message substring  (a warning)
//   # expect-hint: substring                       (hint of the expectation above it)
//   # strict / # check-vars                        (load options)
// The file must produce exactly the expected errors and warnings, each at its line and column.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "baton/pipelines/loader.h"
#include "fakes/test_env.h"

namespace baton::pipelines {
namespace {

namespace fs = std::filesystem;

struct Expectation {
  Severity severity = Severity::kError;
  int line = 0;
  int column = 0;
  std::string message;
  std::string hint;
};

struct DataCase {
  fs::path path;
  std::vector<Expectation> expectations;
  bool strict = false;
  bool check_vars = false;
};

// Prints a case as its file name in test output.
void PrintTo(const DataCase& c, std::ostream* os) { *os << c.path.filename().string(); }

bool ParseExpectation(const std::string& rest, Severity severity, Expectation& out) {
  std::istringstream in(rest);
  char colon1 = 0, colon2 = 0;
  if (!(in >> out.line >> colon1 >> out.column >> colon2) || colon1 != ':' || colon2 != ':') {
    return false;
  }
  std::getline(in, out.message);
  out.message.erase(0, out.message.find_first_not_of(' '));
  out.severity = severity;
  return true;
}

DataCase ReadCase(const fs::path& path) {
  DataCase c{path, {}, false, false};
  std::istringstream in(testing::ReadFile(path));
  std::string line;
  const std::string kError = "# expect: ", kWarning = "# expect-warning: ",
                    kHint = "# expect-hint: ";
  while (std::getline(in, line)) {
    Expectation e;
    if (line.rfind(kError, 0) == 0 &&
        ParseExpectation(line.substr(kError.size()), Severity::kError, e)) {
      c.expectations.push_back(e);
    } else if (line.rfind(kWarning, 0) == 0 &&
               ParseExpectation(line.substr(kWarning.size()), Severity::kWarning, e)) {
      c.expectations.push_back(e);
    } else if (line.rfind(kHint, 0) == 0 && !c.expectations.empty()) {
      c.expectations.back().hint = line.substr(kHint.size());
    } else if (line == "# strict") {
      c.strict = true;
    } else if (line == "# check-vars") {
      c.check_vars = true;
    }
  }
  return c;
}

std::vector<DataCase> AllCases() {
  std::vector<DataCase> cases;
  for (const auto& entry : fs::directory_iterator(testing::SourceDir() / "tests/data/pipelines")) {
    if (entry.path().extension() == ".yml") cases.push_back(ReadCase(entry.path()));
  }
  std::sort(cases.begin(), cases.end(),
            [](const DataCase& a, const DataCase& b) { return a.path < b.path; });
  return cases;
}

std::string Describe(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags.items()) {
    out += "  " + std::to_string(d.mark.line) + ":" + std::to_string(d.mark.column) + ": " +
           ToString(d.severity) + ": " + d.message + (d.hint.empty() ? "" : " [" + d.hint + "]") +
           "\n";
  }
  return out;
}

class PipelineDataTest : public ::testing::TestWithParam<DataCase> {};

TEST_P(PipelineDataTest, ReportsExactlyTheExpectedDiagnosticsAtTheirMarks) {
  const DataCase& c = GetParam();
  LoadOptions options;
  options.file_name = c.path.filename().string();
  options.strict = c.strict;
  options.check_vars = c.check_vars;
  PipelineLoad load = LoadPipeline(testing::ReadFile(c.path), options);
  const Diagnostics& diags = load.diagnostics;
  size_t expected_errors =
      std::count_if(c.expectations.begin(), c.expectations.end(),
                    [](const auto& e) { return e.severity == Severity::kError; });
  EXPECT_EQ(diags.ErrorCount(), expected_errors) << Describe(diags);
  EXPECT_EQ(diags.WarningCount(), c.expectations.size() - expected_errors) << Describe(diags);
  for (const auto& e : c.expectations) {
    bool found = std::any_of(diags.items().begin(), diags.items().end(), [&](const Diagnostic& d) {
      return d.severity == e.severity && d.mark.line == e.line && d.mark.column == e.column &&
             d.message.find(e.message) != std::string::npos &&
             d.hint.find(e.hint) != std::string::npos;
    });
    EXPECT_TRUE(found) << "expected " << ToString(e.severity) << " at " << e.line << ":" << e.column
                       << ": " << e.message << " [" << e.hint << "]\ngot:\n"
                       << Describe(diags);
  }
  EXPECT_EQ(load.ok(), expected_errors == 0);
}

std::string CaseName(const ::testing::TestParamInfo<DataCase>& info) {
  std::string name = info.param.path.stem().string();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, PipelineDataTest, ::testing::ValuesIn(AllCases()), CaseName);

TEST(PipelineData, HasAtLeastTwentyFiveBrokenPipelines) {
  auto cases = AllCases();
  size_t broken = std::count_if(cases.begin(), cases.end(), [](const DataCase& c) {
    return std::any_of(c.expectations.begin(), c.expectations.end(),
                       [](const auto& e) { return e.severity == Severity::kError; });
  });
  EXPECT_GE(broken, 25u);
}

}  // namespace
}  // namespace baton::pipelines
