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

// Every registrar with the source file that registered it. Static initializers run in link order,
// which a unity build changes (CMake links a target's batches last first): main() orders them by
// file, so CLI11's help lists the commands in their files' order whatever the build.
struct FileRegistrar {
  const char* file;
  Registrar registrar;
};
std::vector<FileRegistrar>& Registrars();

struct CommandRegistration {
  CommandRegistration(const char* file, Registrar r) {
    Registrars().push_back({file, std::move(r)});
  }
};

}  // namespace baton::cli

#define BATON_CLI_CONCAT_INNER(a, b) a##b
#define BATON_CLI_CONCAT(a, b) BATON_CLI_CONCAT_INNER(a, b)
// __COUNTER__, not __LINE__: in a unity batch (BATON_UNITY) several cmd_*.cpp share one
// translation unit, and two of them may register at the same line.
#define BATON_COMMAND(fn) \
  static ::baton::cli::CommandRegistration BATON_CLI_CONCAT(baton_cmd_, __COUNTER__)(__FILE__, fn)
