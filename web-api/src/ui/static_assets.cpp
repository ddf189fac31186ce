#include "baton/webapi/static_assets.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace baton::webapi {
namespace {

namespace fs = std::filesystem;

std::string ContentTypeOf(const fs::path& file) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
      {".woff2", "font/woff2"}};
  auto it = kTypes.find(file.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

Result<std::string> ReadFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream body;
  body << in.rdbuf();
  if (!in) return IoError("cannot read " + file.string());
  return body.str();
}

bool AcceptsGzip(const Request& request) {
  return request.headers.Get("Accept-Encoding").value_or("").find("gzip") != std::string::npos;
}

// The page may load only its own files; style-src allows inline styles because the editor
// (CodeMirror) and the graph set element styles.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "
    "data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

}  // namespace

Result<std::shared_ptr<const StaticAssets>> StaticAssets::Load(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "index.html", ec)) {
    return NotFound("no web UI in " + dir.string() +
                    " (build it with `make build`, which runs npm in web-ui/, or pass "
                    "--web-ui-dir)");
  }
  auto assets = std::shared_ptr<StaticAssets>(new StaticAssets());
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() == ".gz") continue;
    BATON_ASSIGN_OR_RETURN(std::string body, ReadFile(it->path()));
    File file{std::move(body), "", ContentTypeOf(it->path()), false};
    fs::path gz = it->path().string() + ".gz";
    if (fs::is_regular_file(gz, ec)) {
      BATON_ASSIGN_OR_RETURN(file.gzip, ReadFile(gz));
    }
    std::string url = "/" + fs::relative(it->path(), dir).generic_string();
    file.immutable = url.rfind("/assets/", 0) == 0;
    assets->files_.emplace(std::move(url), std::move(file));
  }
  if (ec) return IoError("cannot list " + dir.string() + ": " + ec.message());
  return std::shared_ptr<const StaticAssets>(std::move(assets));
}

Response StaticAssets::Serve(const Request& request) const {
  const std::string& path = request.path;
  if (path.rfind("/api/", 0) == 0) return JsonError(404, "not found", "no route for " + path);
  if (auto it = files_.find(path == "/" ? "/index.html" : path); it != files_.end()) {
    return Send(it->second, request);
  }
  std::string_view last = std::string_view(path).substr(path.rfind('/') + 1);
  if (last.find('.') == std::string_view::npos) return Send(files_.at("/index.html"), request);
  return JsonError(404, "not found", "no file " + path + " in the web UI");
}

Response StaticAssets::Send(const File& file, const Request& request) const {
  const bool gzip = !file.gzip.empty() && AcceptsGzip(request);
  Response r = Response::Text(200, gzip ? file.gzip : file.body, file.content_type);
  if (gzip) r.headers.Set("Content-Encoding", "gzip");
  r.headers.Set("Vary", "Accept-Encoding");
  r.headers.Set("Cache-Control",
                file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.Set("X-Content-Type-Options", "nosniff");
  if (file.content_type.rfind("text/html", 0) == 0) {
    r.headers.Set("Content-Security-Policy", kContentSecurityPolicy);
    r.headers.Set("Referrer-Policy", "same-origin");
  }
  return r;
}

fs::path DefaultWebUiDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "share/baton/web-ui";
  return (exe.parent_path() / ".." / "share" / "baton" / "web-ui").lexically_normal();
}

}  // namespace baton::webapi
