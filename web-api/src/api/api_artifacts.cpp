// Versions of `artifact` resources over HTTP, so `baton download-artifact` works against a
// remote server:
//   GET .../resources/:resource/versions/:version/artifact       {digest, files, bytes, entries}
//   GET .../resources/:resource/versions/:version/artifact/file?path=REL   the file's bytes
// Team only (never anonymous, even for a public pipeline). Files are read on the server's work
// threads (Response::Offload), never on an I/O thread.
#include "api_context.h"
#include "api_input.h"
#include "baton/workers/artifact_store.h"

namespace baton::webapi::api {
namespace {

// The digest of the version :version of the artifact resource :resource, or an error response.
Result<std::string> ArtifactDigest(Context& ctx, const Request& req) {
  if (!ctx.options.artifacts) {
    return NotFound("this server has no artifact store (it was started without a data dir)");
  }
  BATON_ASSIGN_OR_RETURN(runner::PipelineRecord p, PipelineOf(ctx, req));
  std::string name = req.Param("resource");
  auto r = ctx.store.GetResource(p.id, name);
  if (!r.ok() || !r->active) {
    return NotFound("pipeline `" + p.name + "` has no resource `" + name +
                    "`: list them with GET .../resources");
  }
  if (r->type != "artifact") {
    return InvalidArgument("resource `" + name + "` is of type `" + r->type +
                           "`; only `artifact` resources keep files to download");
  }
  BATON_ASSIGN_OR_RETURN(int64_t id, PathId(req, "version"));
  auto v = ctx.store.GetResourceVersion(id);
  if (!v.ok() || v->resource_id != r->id) {
    return NotFound("resource `" + name + "` has no version " + std::to_string(id) +
                    ": list them with GET .../resources/" + name + "/versions");
  }
  std::string digest = v->version.is_object() ? v->version.value("digest", std::string()) : "";
  if (digest.empty()) {
    return InvalidArgument("version " + std::to_string(id) + " of `" + name +
                           "` has no digest: " + v->version.dump());
  }
  return digest;
}

Json EntryJson(const workers::ArtifactEntry& e) {
  Json out{{"path", e.path}, {"type", e.type}};
  if (e.type == "file") {
    out["mode"] = e.mode;
    out["size"] = e.size;
    out["sha256"] = e.sha256;
  } else if (e.type == "dir") {
    out["mode"] = e.mode;
  } else {
    out["target"] = e.target;
  }
  return out;
}

Response ListFiles(Context& ctx, const Request& req) {
  auto digest = ArtifactDigest(ctx, req);
  if (!digest.ok()) return JsonError(digest.status());
  return Response::Offload([store = ctx.options.artifacts, digest = *digest](WorkClaim&) {
    auto entries = store->Entries(digest);
    if (!entries.ok()) return JsonError(entries.status());
    Json list = Json::array();
    int64_t files = 0, bytes = 0;
    for (const auto& e : *entries) {
      list.push_back(EntryJson(e));
      if (e.type == "file") files++, bytes += e.size;
    }
    return Response::Json(
        200, Json{{"digest", digest}, {"files", files}, {"bytes", bytes}, {"entries", list}});
  });
}

Response GetFile(Context& ctx, const Request& req) {
  auto digest = ArtifactDigest(ctx, req);
  if (!digest.ok()) return JsonError(digest.status());
  std::string path = req.Query("path").value_or("");
  if (path.empty()) {
    return JsonError(400, "bad request",
                     "query parameter `path` is required: a file path from GET .../artifact");
  }
  return Response::Offload([store = ctx.options.artifacts, digest = *digest, path](WorkClaim&) {
    auto bytes = store->ReadFile(digest, path);
    if (!bytes.ok()) return JsonError(bytes.status());
    return Response::Text(200, std::move(*bytes), "application/octet-stream");
  });
}

}  // namespace

void AddArtifactRoutes(Router& router, std::shared_ptr<Context> ctx) {
  const std::string base =
      "/api/v1/teams/:team/pipelines/:pipeline/resources/:resource/versions/:version/artifact";
  router.Add(
      "GET", base, [ctx](Request& req) { return ListFiles(*ctx, req); }, Access::kToken);
  router.Add(
      "GET", base + "/file", [ctx](Request& req) { return GetFile(*ctx, req); }, Access::kToken);
}

}  // namespace baton::webapi::api
