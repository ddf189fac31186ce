// The `baton` binary: a thin main. Commands register themselves (command.h).
#include <cstdio>

#include "command.h"

namespace baton::cli {
std::vector<Registrar>& Registrars() {
  static std::vector<Registrar> registrars;
  return registrars;
}
}  // namespace baton::cli

int main(int argc, char** argv) {
  CLI::App app{"baton: a CI/CD pipeline runner in the spirit of Concourse"};
  app.set_version_flag("--version", std::string("baton ") + BATON_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  int exit_code = 0;
  for (auto& registrar : baton::cli::Registrars()) registrar(app, exit_code);
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
