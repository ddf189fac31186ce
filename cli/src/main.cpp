// The `baton` binary: a thin main. Commands register themselves (command.h).
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "command.h"

namespace baton::cli {
std::vector<FileRegistrar>& Registrars() {
  static std::vector<FileRegistrar> registrars;
  return registrars;
}
}  // namespace baton::cli

int main(int argc, char** argv) {
  CLI::App app{"baton: a CI/CD pipeline runner in the spirit of Concourse"};
  app.set_version_flag("--version", std::string("baton ") + BATON_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  int exit_code = 0;
  auto& registrars = baton::cli::Registrars();
  // By file, and within a file in registration order (command.h says why).
  std::stable_sort(registrars.begin(), registrars.end(),
                   [](const auto& a, const auto& b) { return std::strcmp(a.file, b.file) < 0; });
  for (auto& r : registrars) r.registrar(app, exit_code);
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
