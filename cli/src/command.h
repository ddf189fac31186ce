// Self-registering CLI commands: each cmd_*.cpp adds its subcommands to the root CLI11 app with
// BATON_COMMAND(...), so commands live in their own files and main.cpp never changes.
#pragma once

#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

namespace baton::cli {

// Exit codes shared by commands: 0 ok, 1 failed (or invalid input), 2 usage/errored, 3 aborted.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitErrored = 2;
inline constexpr int kExitAborted = 3;

// A registrar receives the root app; it adds a subcommand whose callback sets `exit_code`.
using Registrar = std::function<void(CLI::App& root, int& exit_code)>;

// What a registrar adds. main() runs only the registrars a command line needs: making every
// subcommand's options with CLI11 was ~0.4 ms of each `baton` start (docs/benchmarks.md).
enum class Registers {
  kVerbs,         // the subcommands its `verbs` name (aliases included)
  kVerbsOverAll,  // those, which read every other command (completion): all are made with them
  kRootOptions,   // options of the root app, given before the verb: always made
};

// Every registrar with the source file that registered it. Static initializers run in link order,
// which a unity build changes (CMake links a target's batches last first): main() orders them by
// file, so CLI11's help lists the commands in their files' order whatever the build.
struct FileRegistrar {
  const char* file;
  Registrar registrar;
  const char* const* verbs;  // ends with nullptr
  Registers registers;
};
std::vector<FileRegistrar>& Registrars();

struct CommandRegistration {
  CommandRegistration(const char* file, Registrar r, const char* const* verbs, Registers what) {
    Registrars().push_back({file, std::move(r), verbs, what});
  }
};

}  // namespace baton::cli

#define BATON_CLI_CONCAT_INNER(a, b) a##b
#define BATON_CLI_CONCAT(a, b) BATON_CLI_CONCAT_INNER(a, b)
// __COUNTER__, not __LINE__: in a unity batch (BATON_UNITY) several cmd_*.cpp share one
// translation unit, and two of them may register at the same line.
#define BATON_CLI_REGISTER(n, what, fn, ...)                                             \
  static const char* const BATON_CLI_CONCAT(baton_verbs_,                                \
                                            n)[] = {__VA_ARGS__ __VA_OPT__(, ) nullptr}; \
  static ::baton::cli::CommandRegistration BATON_CLI_CONCAT(baton_cmd_, n)(              \
      __FILE__, fn, BATON_CLI_CONCAT(baton_verbs_, n), ::baton::cli::Registers::what)
// `fn` adds the subcommands named after it, and only those: BATON_COMMAND(RegisterRun, "run").
// A verb left out still works, with every command made; one listed here that `fn` does not add
// is unknown when named (tests/e2e/cli_verbs_test.cpp asks each verb of --help for its help).
#define BATON_COMMAND(fn, ...) BATON_CLI_REGISTER(__COUNTER__, kVerbs, fn, __VA_ARGS__)
// As BATON_COMMAND, for subcommands that read the others (every command is made with them).
#define BATON_COMMAND_OVER_ALL(fn, ...) \
  BATON_CLI_REGISTER(__COUNTER__, kVerbsOverAll, fn, __VA_ARGS__)
// `fn` adds options to the root app (given before the verb): made for every command line.
#define BATON_ROOT_OPTIONS(fn) BATON_CLI_REGISTER(__COUNTER__, kRootOptions, fn)
