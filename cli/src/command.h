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

std::vector<Registrar>& Registrars();

struct CommandRegistration {
  explicit CommandRegistration(Registrar r) { Registrars().push_back(std::move(r)); }
};

}  // namespace baton::cli

#define BATON_CLI_CONCAT_INNER(a, b) a##b
#define BATON_CLI_CONCAT(a, b) BATON_CLI_CONCAT_INNER(a, b)
// __COUNTER__, not __LINE__: in a unity batch (BATON_UNITY) several cmd_*.cpp share one
// translation unit, and two of them may register at the same line.
#define BATON_COMMAND(fn) \
  static ::baton::cli::CommandRegistration BATON_CLI_CONCAT(baton_cmd_, __COUNTER__)(fn)
