// Resource and worker commands: `check-resource`, `resource-versions`, `pin-resource`,
// `unpin-resource`, `workers`.
#include <algorithm>
#include <chrono>
#include <thread>

#include "client/client_command.h"
#include "client/table.h"
#include "command.h"

namespace baton::cli {
namespace {

struct ResourceFlags {
  ClientFlags client;
  std::string resource_path;  // P/R
  std::string version;        // pin: version id, or KEY:VALUE of the version
  int count = 50;
  bool async = false;  // check-resource: print the queued check and return
};

// Follows the check at `url` until it ends; returns its last state.
Result<Json> FollowCheck(ApiClient& client, const std::string& url) {
  for (int attempt = 0;; ++attempt) {
    BATON_ASSIGN_OR_RETURN(Json check, client.Get(url));
    std::string status = Field(check, "status");
    if (status == "succeeded" || status == "errored") return check;
    // Polling a remote server: short waits first (most checks take well under a second).
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(100 * (attempt + 1), 1000)));
  }
}

int CheckResource(const ResourceFlags& flags) {
  bool usage = false;
  auto r = ConnectToResource(flags.client, flags.resource_path, usage);
  if (!r.ok()) return ReportError(r.status(), usage);
  auto queued = r->client.Post(r->base + "/check");
  if (!queued.ok()) return ReportError(queued.status());
  std::string url = "/checks/" + Field(*queued, "id");  // the client adds /api/v1
  if (flags.async) {
    std::printf("check %s of %s queued: follow it at %s\n", Field(*queued, "id").c_str(),
                flags.resource_path.c_str(), Field(*queued, "url").c_str());
    return kExitOk;
  }
  std::printf("checking %s (check %s)...\n", flags.resource_path.c_str(),
              Field(*queued, "id").c_str());
  std::fflush(stdout);
  auto done = FollowCheck(r->client, url);
  if (!done.ok()) return ReportError(done.status());
  if (Field(*done, "status") == "errored") {
    std::fprintf(stderr, "check of %s errored: %s\n", flags.resource_path.c_str(),
                 Field(*done, "error").c_str());
    return kExitFailed;
  }
  std::printf("check of %s succeeded: %s new version(s)\n", flags.resource_path.c_str(),
              Field(*done, "new_versions").c_str());
  return kExitOk;
}

Result<int64_t> PinnedId(ApiClient& client, const std::string& pipeline_path,
                         const std::string& resource) {
  BATON_ASSIGN_OR_RETURN(Json list, client.Get(pipeline_path + "/resources"));
  for (const auto& r : list) {
    if (Field(r, "name") == resource) return r.value("pinned_version_id", int64_t{0});
  }
  return int64_t{0};
}

int ResourceVersions(const ResourceFlags& flags) {
  bool usage = false;
  auto r = ConnectToResource(flags.client, flags.resource_path, usage);
  if (!r.ok()) return ReportError(r.status(), usage);
  auto versions = r->client.Get(r->base + "/versions?limit=" + std::to_string(flags.count));
  if (!versions.ok()) return ReportError(versions.status());
  if (flags.client.json) {
    PrintJson(*versions);
    return kExitOk;
  }
  std::string pipeline_path = r->base.substr(0, r->base.rfind("/resources/"));
  auto pinned = PinnedId(r->client, pipeline_path,
                         flags.resource_path.substr(flags.resource_path.find('/') + 1));
  Table table({"id", "version", "pinned", "created"});
  for (const auto& v : *versions) {
    bool is_pinned = pinned.ok() && *pinned != 0 && v.value("id", int64_t{0}) == *pinned;
    std::string text;
    if (v.contains("version") && v["version"].is_object()) {
      for (const auto& [k, val] : v["version"].items()) {
        if (!text.empty()) text += ",";
        text += k + ":" + (val.is_string() ? val.get<std::string>() : val.dump());
      }
    }
    table.AddRow({Field(v, "id"), text, Cell(is_pinned ? "pinned" : "", "\033[34m"),
                  Field(v, "created_at")});
  }
  table.Print(stdout, WantsColor(stdout));
  return kExitOk;
}

// -v: a version id, or KEY:VALUE matched against the resource's versions.
Result<int64_t> VersionId(ApiClient& client, const std::string& base, const std::string& flag) {
  char* end = nullptr;
  long long id = std::strtoll(flag.c_str(), &end, 10);
  if (!flag.empty() && *end == '\0' && id > 0) return static_cast<int64_t>(id);
  size_t colon = flag.find(':');
  if (colon == std::string::npos) {
    return InvalidArgument("-v takes a version id or KEY:VALUE (e.g. ref:3f1c2a), got \"" + flag +
                           "\"");
  }
  std::string key = flag.substr(0, colon), value = flag.substr(colon + 1);
  BATON_ASSIGN_OR_RETURN(Json versions, client.Get(base + "/versions?limit=1000"));
  for (const auto& v : versions) {
    if (v.contains("version") && Field(v["version"], key.c_str()) == value) {
      return v.value("id", int64_t{0});
    }
  }
  return NotFound("no version with " + key + " = " + value);
}

int PinResource(const ResourceFlags& flags, bool pin) {
  bool usage = false;
  auto r = ConnectToResource(flags.client, flags.resource_path, usage);
  if (!r.ok()) return ReportError(r.status(), usage);
  if (!pin) {
    auto done = r->client.Put(r->base + "/unpin");
    if (!done.ok()) return ReportError(done.status());
    std::printf("unpinned %s\n", flags.resource_path.c_str());
    return kExitOk;
  }
  auto id = VersionId(r->client, r->base, flags.version);
  if (!id.ok()) return ReportError(id.status(), id.status().code() == StatusCode::kInvalidArgument);
  auto done = r->client.Put(r->base + "/versions/" + std::to_string(*id) + "/pin");
  if (!done.ok()) return ReportError(done.status());
  std::printf("pinned %s to version %lld\n", flags.resource_path.c_str(),
              static_cast<long long>(*id));
  return kExitOk;
}

int Workers(const ResourceFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto workers = client->Get("/workers");
  if (!workers.ok()) return ReportError(workers.status());
  if (flags.client.json) {
    PrintJson(*workers);
    return kExitOk;
  }
  Table table({"name", "state", "tags", "team", "containers", "capacity", "heartbeat"});
  for (const auto& w : *workers) {
    std::string tags;
    if (w.contains("tags") && w["tags"].is_array()) {
      for (const auto& t : w["tags"]) tags += (tags.empty() ? "" : ",") + t.get<std::string>();
    }
    std::string state = Field(w, "state");
    std::string team = Field(w, "team");
    table.AddRow({Field(w, "name"), Cell(state, state == "running" ? "\033[32m" : "\033[33m"),
                  tags.empty() ? "none" : tags, team.empty() ? "all" : team,
                  Field(w, "active_containers"), Field(w, "capacity"),
                  Field(w, "heartbeat_age_seconds") + "s ago"});
  }
  table.Print(stdout, WantsColor(stdout));
  return kExitOk;
}

CLI::App* AddResourceCommand(CLI::App& root, const char* name, const char* help,
                             const std::shared_ptr<ResourceFlags>& flags, bool with_json = false) {
  auto* cmd = root.add_subcommand(name, help);
  flags->client.AddTo(cmd, with_json);
  cmd->add_option("-r,--resource", flags->resource_path, "PIPELINE/RESOURCE")->required();
  return cmd;
}

void RegisterResourceCommands(CLI::App& root, int& exit_code) {
  auto check = std::make_shared<ResourceFlags>();
  auto* check_cmd =
      AddResourceCommand(root, "check-resource", "Look for new versions of a resource now", check);
  check_cmd->add_flag("-a,--async", check->async,
                      "Queue the check and print its id instead of waiting for it");
  check_cmd->callback([check, &exit_code] { exit_code = CheckResource(*check); });
  auto versions = std::make_shared<ResourceFlags>();
  auto* versions_cmd =
      AddResourceCommand(root, "resource-versions", "List a resource's versions", versions, true);
  versions_cmd->add_option("-c,--count", versions->count, "How many (default 50)")
      ->check(CLI::Range(1, 1000));
  versions_cmd->callback([versions, &exit_code] { exit_code = ResourceVersions(*versions); });
  auto pin = std::make_shared<ResourceFlags>();
  auto* pin_cmd = AddResourceCommand(root, "pin-resource", "Pin a resource to one version", pin);
  pin_cmd->add_option("-v,--version", pin->version, "Version id, or KEY:VALUE (ref:3f1c2a)")
      ->required();
  pin_cmd->callback([pin, &exit_code] { exit_code = PinResource(*pin, true); });
  auto unpin = std::make_shared<ResourceFlags>();
  AddResourceCommand(root, "unpin-resource", "Let a resource follow its newest version", unpin)
      ->callback([unpin, &exit_code] { exit_code = PinResource(*unpin, false); });
  auto workers = std::make_shared<ResourceFlags>();
  auto* workers_cmd = root.add_subcommand("workers", "List the workers");
  workers->client.AddTo(workers_cmd, true);
  workers_cmd->callback([workers, &exit_code] { exit_code = Workers(*workers); });
}

BATON_COMMAND(RegisterResourceCommands, "check-resource", "resource-versions", "pin-resource",
              "unpin-resource", "workers");

}  // namespace
}  // namespace baton::cli
