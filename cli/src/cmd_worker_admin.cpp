// `baton land-worker`, `retire-worker` and `prune-worker`: an operator's say over the web node's
// workers (docs/workers.md).
#include <cstdio>
#include <memory>
#include <string>

#include "baton/net/http_types.h"
#include "client/client_command.h"
#include "command.h"

namespace baton::cli {
namespace {

struct WorkerAdminFlags {
  ClientFlags client;
  std::string name;
};

int LandWorker(const WorkerAdminFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto landed = client->Put("/workers/" + net::PercentEncode(flags.name) + "/land");
  if (!landed.ok()) return ReportError(landed.status());
  std::printf("landing worker %s: it takes no new steps, finishes its running ones, then leaves\n",
              flags.name.c_str());
  return kExitOk;
}

int RetireWorker(const WorkerAdminFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto retired = client->Put("/workers/" + net::PercentEncode(flags.name) + "/retire");
  if (!retired.ok()) return ReportError(retired.status());
  std::printf(
      "retiring worker %s: it takes no new steps, finishes its running ones, then leaves for "
      "good\n",
      flags.name.c_str());
  return kExitOk;
}

int PruneWorker(const WorkerAdminFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto pruned = client->Delete("/workers/" + net::PercentEncode(flags.name));
  if (!pruned.ok()) return ReportError(pruned.status());
  std::printf("pruned worker %s\n", flags.name.c_str());
  return kExitOk;
}

void AddWorkerAdminCommands(CLI::App& root, int& exit_code) {
  auto land = std::make_shared<WorkerAdminFlags>();
  auto* land_cmd = root.add_subcommand(
      "land-worker", "Drain a worker: it takes no new steps, finishes its running ones, leaves");
  land->client.AddTo(land_cmd);
  land_cmd->add_option("-w,--worker", land->name, "The worker's name")->required();
  land_cmd->callback([land, &exit_code] { exit_code = LandWorker(*land); });

  auto retire = std::make_shared<WorkerAdminFlags>();
  auto* retire_cmd = root.add_subcommand(
      "retire-worker",
      "Retire a worker: as land-worker, then it is removed from the web node's workers for good");
  retire->client.AddTo(retire_cmd);
  retire_cmd->add_option("-w,--worker", retire->name, "The worker's name")->required();
  retire_cmd->callback([retire, &exit_code] { exit_code = RetireWorker(*retire); });

  auto prune = std::make_shared<WorkerAdminFlags>();
  auto* prune_cmd = root.add_subcommand(
      "prune-worker", "Forget a stalled or landed worker (one no longer connected)");
  prune->client.AddTo(prune_cmd);
  prune_cmd->add_option("-w,--worker", prune->name, "The worker's name")->required();
  prune_cmd->callback([prune, &exit_code] { exit_code = PruneWorker(*prune); });
}

BATON_COMMAND(AddWorkerAdminCommands, "land-worker", "retire-worker", "prune-worker");

}  // namespace
}  // namespace baton::cli
