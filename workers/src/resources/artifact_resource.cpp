// The `artifact` resource type (Baton's own): passes directories between jobs through the
// ArtifactStore. source: {name?: key of the version list (default: a hash of the source),
// retain?: keep only the newest N versions}. put params: {from: artifact directory name}.
// Versions: {digest: <hex sha256 of the snapshot manifest>}.
#include "baton/common/sha256.h"
#include "baton/workers/artifact_store.h"
#include "resources/builtin_types.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

Result<std::string> ResourceKey(const Json& source) {
  BATON_ASSIGN_OR_RETURN(std::string name, StringField(source, "name", "source"));
  if (!name.empty()) return "name:" + name;
  return "source:" + Sha256Hex(source.dump());
}

Result<ArtifactStore*> Store(const ResourceContext& ctx, const char* action) {
  if (!ctx.artifacts) {
    return FailedPrecondition(std::string("artifact ") + action +
                              ": this worker has no artifact store; run it with a data dir");
  }
  return ctx.artifacts;
}

Json VersionJson(const ArtifactVersion& v) { return Json{{"digest", v.digest}}; }

std::vector<MetadataField> Metadata(const ArtifactVersion& v) {
  return {{"files", std::to_string(v.file_count)}, {"bytes", std::to_string(v.bytes)}};
}

class ArtifactResourceType final : public ResourceType {
 public:
  Result<std::vector<Json>> Check(const ResourceContext& ctx, const Json& source,
                                  const Json& from) override {
    BATON_ASSIGN_OR_RETURN(ArtifactStore * store, Store(ctx, "check"));
    BATON_ASSIGN_OR_RETURN(std::string key, ResourceKey(source));
    BATON_ASSIGN_OR_RETURN(auto versions, store->List(key));
    std::vector<Json> out;
    if (versions.empty()) return out;
    std::string from_digest = from.is_object() ? from.value("digest", std::string()) : "";
    size_t begin = versions.size() - 1;  // latest only, unless `from` is still listed
    for (size_t i = 0; i < versions.size(); ++i) {
      if (!from_digest.empty() && versions[i].digest == from_digest) begin = i;
    }
    for (size_t i = begin; i < versions.size(); ++i) out.push_back(VersionJson(versions[i]));
    return out;
  }

  Result<FetchedVersion> Get(const ResourceContext& ctx, const Json& /*source*/,
                             const Json& version, const Json& /*params*/,
                             const std::string& dir) override {
    BATON_ASSIGN_OR_RETURN(ArtifactStore * store, Store(ctx, "get"));
    std::string digest = version.is_object() ? version.value("digest", std::string()) : "";
    if (digest.empty()) {
      return InvalidArgument("artifact get: version must look like {digest: ...}, got " +
                             version.dump());
    }
    Status restored = store->Restore(digest, dir);
    if (!restored.ok()) return Status(restored.code(), "artifact get: " + restored.message());
    return FetchedVersion{VersionJson(ArtifactVersion{digest}), {}};
  }

  Result<FetchedVersion> Put(const ResourceContext& ctx, const Json& source, const Json& params,
                             const std::string& dir) override {
    BATON_ASSIGN_OR_RETURN(ArtifactStore * store, Store(ctx, "put"));
    BATON_ASSIGN_OR_RETURN(std::string from, StringField(params, "from", "params"));
    if (from.empty()) {
      return InvalidArgument("artifact put: set params.from to the name of the artifact to store");
    }
    BATON_ASSIGN_OR_RETURN(fs::path path, PathInside(dir, from, "artifact put: params.from"));
    if (!fs::is_directory(path)) {
      return NotFound("artifact put: no artifact named '" + from +
                      "' in this build: name a task output or a fetched resource");
    }
    BATON_ASSIGN_OR_RETURN(std::string key, ResourceKey(source));
    BATON_ASSIGN_OR_RETURN(ArtifactVersion v, store->Put(key, path.string()));
    LogLine(ctx, "stored artifact " + v.digest.substr(0, 12) + ": " + std::to_string(v.file_count) +
                     " files, " + std::to_string(v.bytes) + " bytes");
    if (source.contains("retain")) {
      if (!source["retain"].is_number_integer() || source["retain"].get<int64_t>() < 1) {
        return InvalidArgument("artifact put: source.retain must be a positive number of versions");
      }
      BATON_ASSIGN_OR_RETURN(PruneStats stats, store->Prune(key, source["retain"].get<size_t>()));
      if (stats.versions_removed > 0) {
        LogLine(ctx, "pruned " + std::to_string(stats.versions_removed) + " old versions");
      }
    }
    return FetchedVersion{VersionJson(v), Metadata(v)};
  }
};

}  // namespace

std::unique_ptr<ResourceType> MakeArtifactResourceType() {
  return std::make_unique<ArtifactResourceType>();
}

}  // namespace baton::workers::resources
