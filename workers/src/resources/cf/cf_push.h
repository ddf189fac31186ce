// The `cf` put sequence over the CC v3 API, one function per stage. PushApp runs them in order:
//   login -> organization -> space -> apply manifest (+ job) -> app -> package -> upload bits
//   (+ READY) -> staging (build + STAGED) -> start (set droplet + start, or a rolling deployment)
//   -> wait for instances RUNNING -> route.
// Every error names its stage: "cf put: staging failed: ...". Thread-compatible (one push per
// CfClient).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/resource_type.h"
#include "resources/cf/cf_client.h"
#include "resources/cf/cf_manifest.h"

namespace baton::workers::resources {

struct CfPushOptions {
  std::filesystem::path app_dir;  // what is zipped and uploaded (or a .zip/.jar/.war archive)
  bool no_start = false;
  // Docker apps (the manifest's docker.image): no bits; a docker package with these.
  std::string docker_image;
  std::string docker_username;
  std::string docker_password;
  bool rolling = false;  // strategy: rolling (or current_app_name given)
  bool show_app_log = false;
  std::chrono::milliseconds job_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds staging_timeout{std::chrono::minutes(15)};
  std::chrono::milliseconds start_timeout{std::chrono::minutes(5)};
  // The upload has no overall deadline; it fails when no byte could be sent for this long.
  std::chrono::milliseconds upload_stall_timeout{std::chrono::minutes(1)};
};

struct CfPushResult {
  std::string app_name;
  std::string app_guid;
  std::string package_guid;
  std::string droplet_guid;
  std::string deployment_guid;      // rolling deployments only
  std::string route;                // first route's URL, "" when the app has none
  std::vector<std::string> routes;  // every route's URL
  std::string state;                // STARTED or STOPPED
};

Result<CfPushResult> PushApp(const ResourceContext& ctx, CfClient& client,
                             const CfManifest& manifest, const CfPushOptions& options);

// --- stages shared by cf_push.cpp and cf_start.cpp ---

// Polls GET `path` until `done` says so (true) or fails; DeadlineExceeded after `timeout`.
Result<Json> PollUntil(const ResourceContext& ctx, CfClient& client, const std::string& path,
                       std::chrono::milliseconds timeout, const std::string& waiting_for,
                       const std::function<Result<bool>(const Json&)>& done);

// Starts the staged droplet (or deploys it) and waits until its instances run.
Status StartApp(const ResourceContext& ctx, CfClient& client, const CfPushOptions& options,
                CfPushResult& result);
// Zips the app (or takes the archive given as its path), uploads it as the package's bits and
// waits for READY (cf_bits.cpp).
Status UploadBits(const ResourceContext& ctx, CfClient& client, const std::string& package,
                  const CfPushOptions& options);
// The URLs of every route of the app (every page).
Result<std::vector<std::string>> AppRoutes(CfClient& client, const std::string& app_guid);
// Writes the app's log lines since `since` (log-cache; the newest 200, oldest first) to the
// step output, best effort.
void ShowAppLog(const ResourceContext& ctx, CfClient& client, const std::string& app_guid,
                SystemTime since);

}  // namespace baton::workers::resources
