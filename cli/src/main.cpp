// The `baton` binary: a thin main. Commands register themselves (command.h).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "command.h"

namespace baton::cli {
std::vector<FileRegistrar>& Registrars() {
  static std::vector<FileRegistrar> registrars;
  return registrars;
}

namespace {

// What a command line asks of the registrars (command.h): those of its verb, or every one.
struct NamedVerb {
  bool every = false;     // the root's help, or a word only the whole CLI can answer for
  std::string_view verb;  // empty: none (only the root's options, e.g. --version)
};

// The first word of argv that is neither an option of the root nor such an option's value, as
// CLI11 reads the root's words. Anything else before it (the root's help, an option the root does
// not have, `--`, flags run together) is left to CLI11 with every command made, so that what it
// prints is what it always printed.
NamedVerb FindVerb(const CLI::App& root, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word.size() < 2 || word[0] != '-') return {false, word};
    bool long_name = word[1] == '-';
    std::string_view name = long_name ? word.substr(0, word.find('=')) : word.substr(0, 2);
    if (name == "--") return {true, {}};
    const CLI::Option* option = root.get_option_no_throw(std::string(name));
    if (option == nullptr || option == root.get_help_ptr()) return {true, {}};
    bool attached = name.size() < word.size();  // --name=value, -nvalue
    if (option->get_expected_min() == 0) {
      if (attached) return {true, {}};
    } else if (!attached) {
      ++i;  // its value
    }
  }
  return {};
}

bool Names(const FileRegistrar& r, std::string_view verb) {
  for (const char* const* v = r.verbs; *v != nullptr; ++v) {
    if (verb == *v) return true;
  }
  return false;
}

// Runs the registrars the command line needs: the root's options, then the one adding its verb
// (all of them for the root's help, an unknown verb, or one that reads the others).
void Register(CLI::App& app, int argc, char** argv, int& exit_code) {
  auto& registrars = Registrars();
  // By file, and within a file in registration order (command.h says why).
  std::stable_sort(registrars.begin(), registrars.end(),
                   [](const auto& a, const auto& b) { return std::strcmp(a.file, b.file) < 0; });
  for (auto& r : registrars) {
    if (r.registers == Registers::kRootOptions) r.registrar(app, exit_code);
  }
  NamedVerb named = FindVerb(app, argc, argv);
  const FileRegistrar* adding = nullptr;
  if (!named.every && !named.verb.empty()) {
    for (const auto& r : registrars) {
      if (r.registers != Registers::kRootOptions && Names(r, named.verb)) adding = &r;
    }
    named.every = adding == nullptr || adding->registers == Registers::kVerbsOverAll;
  }
  for (auto& r : registrars) {
    if (r.registers == Registers::kRootOptions) continue;
    if (named.every || &r == adding) r.registrar(app, exit_code);
  }
}

}  // namespace
}  // namespace baton::cli

int main(int argc, char** argv) {
  CLI::App app{"baton: a CI/CD pipeline runner in the spirit of Concourse"};
  app.set_version_flag("--version", std::string("baton ") + BATON_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  int exit_code = 0;
  baton::cli::Register(app, argc, argv, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return baton::cli::kExitErrored;  // usage errors exit 2
  }
  return exit_code;
}
