// What every client command (`baton pipelines`, `trigger-job`, ...) shares: the -t/--target and
// --json flags, connecting to the target, "P/J" arguments, printing errors and JSON.
#pragma once

#include <cstdio>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "baton/common/status.h"
#include "client/api_client.h"

namespace baton::cli {

// The target given before the verb (`baton -t ci pipelines`, as fly takes it); empty if none.
std::string& TargetBeforeVerb();

// The target a command uses: its own -t, else the one before the verb, else "default".
std::string EffectiveTarget(const std::string& own);

struct ClientFlags {
  std::string target;  // empty: see EffectiveTarget
  bool json = false;

  // Adds -t/--target, and --json when `with_json`.
  void AddTo(CLI::App* cmd, bool with_json = false);
};

// An ApiClient for the flags' target (see targets.h for the environment overrides).
Result<ApiClient> Connect(const ClientFlags& flags);

// Prints "error: <message>" on stderr; returns the exit code for `status`: 2 for a usage
// mistake (kInvalidArgument from argument parsing is passed as `usage`), else 1.
int ReportError(const Status& status, bool usage = false);

// Splits "pipeline/name" for flag `flag` ("-j"); an InvalidArgument names the expected form.
Result<std::pair<std::string, std::string>> SplitPipelinePath(const std::string& value,
                                                              const std::string& flag,
                                                              const std::string& what);

// A resource on the flags' target: a connected client and the resource's API path.
struct ResourceEndpoint {
  ApiClient client;
  std::string base;  // .../pipelines/P/resources/R
};

// Connects and builds the path of resource `resource_path` ("P/R", given by -r); `usage` is set
// when it was malformed.
Result<ResourceEndpoint> ConnectToResource(const ClientFlags& flags,
                                           const std::string& resource_path, bool& usage);

// Pretty JSON on stdout.
void PrintJson(const Json& value);

// A JSON field as text for a table cell ("" when absent or null; numbers as digits).
std::string Field(const Json& object, const char* key);

// Asks `question` [y/N] on the terminal; true only for an answer starting with y/Y.
bool AskYesNo(const std::string& question);

// Whether stdin and stdout are terminals (a person is there to answer).
bool Interactive();

}  // namespace baton::cli
