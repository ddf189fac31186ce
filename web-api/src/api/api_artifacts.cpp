// Versions of `artifact` resources over HTTP, so `baton download-artifact` works against a
// remote server:
//   GET .../resources/:resource/versions/:version/artifact       {digest, files, bytes, entries}
//   GET .../resources/:resource/versions/:version/artifact/file?path=REL   the file's bytes
// Team only (never anonymous, even for a public pipeline). Files are read on the server's work
// threads (Response::Offload), never on an I/O thread. One answer carries at most
// kMaxFileAnswerBytes: a larger file is asked for in parts with `Range: bytes=FIRST-LAST`
// (206 Partial Content, RFC 9110 §14), as `baton download-artifact` does, so neither side holds
// a large artifact in memory and no request runs into a request time limit.
#include "api_context.h"
#include "api_input.h"
#include "baton/workers/artifact_store.h"

namespace baton::webapi::api {
namespace {

constexpr uint64_t kMaxFileAnswerBytes = 8 << 20;

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

// One range of a `Range` header: "bytes=FIRST-LAST" or "bytes=FIRST-" (to the end; the answer
// stops at kMaxFileAnswerBytes). Suffix ranges and several ranges are not served.
Result<ByteRange> ParseRange(const std::string& header) {
  const std::string unit = "bytes=";
  std::string spec = header.rfind(unit, 0) == 0 ? header.substr(unit.size()) : "";
  size_t dash = spec.find('-');
  auto digits = [](const std::string& t) {
    return !t.empty() && t.size() < 19 && t.find_first_not_of("0123456789") == std::string::npos;
  };
  std::string first = dash == std::string::npos ? "" : spec.substr(0, dash);
  std::string last = dash == std::string::npos ? "" : spec.substr(dash + 1);
  if (!digits(first) || (!last.empty() && !digits(last))) {
    return InvalidArgument("Range `" + header +
                           "` is not one range of bytes: give `bytes=FIRST-LAST` or "
                           "`bytes=FIRST-`");
  }
  ByteRange r{std::stoull(first), last.empty() ? UINT64_MAX : std::stoull(last)};
  if (r.last < r.first) {
    return InvalidArgument("Range `" + header + "` ends before it starts");
  }
  return r;
}

// The file, or the part a Range header asks for, read from the store on a work thread.
Response FileAnswer(workers::ArtifactStore& store, const std::string& digest,
                    const std::string& path, const std::optional<ByteRange>& range) {
  uint64_t offset = range ? range->first : 0;
  uint64_t length = kMaxFileAnswerBytes + (range ? 0 : 1);  // one more: too big for one answer?
  if (range && range->last - range->first < kMaxFileAnswerBytes) {
    length = range->last - range->first + 1;
  }
  auto part = store.ReadFilePart(digest, path, offset, length);
  if (!part.ok()) return JsonError(part.status());
  if (!range && part->size > kMaxFileAnswerBytes) {
    return JsonError(413, "file too large for one answer",
                     path + " has " + std::to_string(part->size) +
                         " bytes; one answer carries at most " +
                         std::to_string(kMaxFileAnswerBytes) +
                         ": ask for it in parts with a `Range: bytes=FIRST-LAST` header "
                         "(baton download-artifact does)");
  }
  if (!range) return Response::Text(200, std::move(part->bytes), "application/octet-stream");
  if (offset >= part->size && part->size > 0) {
    Response r = JsonError(416, "range not satisfiable",
                           path + " has " + std::to_string(part->size) + " bytes; the range " +
                               "starts at " + std::to_string(offset));
    r.headers.Set("Content-Range", "bytes */" + std::to_string(part->size));
    return r;
  }
  uint64_t end = offset + part->bytes.size();  // exclusive
  Response r = Response::Text(206, std::move(part->bytes), "application/octet-stream");
  r.headers.Set("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                     std::to_string(end == 0 ? 0 : end - 1) + "/" +
                                     std::to_string(part->size));
  return r;
}

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
  std::optional<ByteRange> range;
  if (auto header = req.headers.Get("Range")) {
    auto parsed = ParseRange(*header);
    if (!parsed.ok()) return JsonError(416, "range not satisfiable", parsed.status().message());
    range = *parsed;
  }
  return Response::Offload([store = ctx.options.artifacts, digest = *digest, path,
                            range](WorkClaim&) { return FileAnswer(*store, digest, path, range); });
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
