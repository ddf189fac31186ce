// main() makes only the CLI11 subcommands of the verb a command line names (command.h): each file
// lists the verbs its registrar adds. A verb listed by the wrong file would be unknown when named;
// one listed by none still works (every command is made for it).
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "fakes/e2e_util.h"

namespace baton::testing {
namespace {

// The verbs and aliases of `baton --help`'s "Subcommands:" ("  trigger-job, tj   Start ...").
std::vector<std::vector<std::string>> HelpVerbs(const std::string& help) {
  std::vector<std::vector<std::string>> out;
  std::istringstream lines(help.substr(help.find("Subcommands:")));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::string names = line.substr(0, line.find("  ", 2));
    std::vector<std::string> verb;
    std::istringstream words(names);
    for (std::string w; words >> w;)
      verb.push_back(w.back() == ',' ? w.substr(0, w.size() - 1) : w);
    if (!verb.empty()) out.push_back(verb);
  }
  return out;
}

TEST(CliVerbs, EveryVerbAndAliasOfTheHelpAnswersWithItsOwnHelp) {
  ProcessResult help = RunBaton({"--help"});
  ASSERT_EQ(help.exit_code, 0) << help.All();
  auto verbs = HelpVerbs(help.out);
  ASSERT_GT(verbs.size(), 30u) << help.out;
  for (const auto& names : verbs) {
    for (const auto& name : names) {
      ProcessResult own = RunBaton({name, "--help"});
      EXPECT_EQ(own.exit_code, 0) << name << ": " << own.All();
      EXPECT_NE(own.out.find(" " + names[0] + " "), std::string::npos) << name << ": " << own.out;
      // The root's option before the verb is still the root's.
      ProcessResult targeted = RunBaton({"-t", "nowhere", name, "--help"});
      EXPECT_EQ(targeted.out, own.out) << name << ": " << targeted.All();
    }
  }
}

TEST(CliVerbs, CompletionSeesEveryVerbOfTheHelp) {
  ProcessResult help = RunBaton({"--help"});
  ProcessResult words = RunBaton({"__complete", "verbs"});
  ASSERT_EQ(words.exit_code, 0) << words.All();
  for (const auto& names : HelpVerbs(help.out)) {
    EXPECT_NE(words.out.find(names[0] + "\n"), std::string::npos) << names[0] << ": " << words.out;
  }
}

// CLI11 reads an unknown verb with every command made: as it always did.
TEST(CliVerbs, AnUnknownVerbIsReportedAsBefore) {
  ProcessResult unknown = RunBaton({"no-such-verb"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "A subcommand is required\nRun with --help for more information.\n");
}

}  // namespace
}  // namespace baton::testing
