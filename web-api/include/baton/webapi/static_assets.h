// StaticAssets: the web UI's built files (web-ui/, `npm run build`), served at `/`.
//
// The files live beside the binary (<prefix>/share/baton/web-ui) rather than inside it: a UI
// change rebuilds no C++, the C++ build does not wait on npm, and an operator can see and
// replace what is served. They are read into memory once at start, with their gzip twins
// (`app-<hash>.js.gz`), so serving never touches the disk and the set cannot change under a
// running page. Paths without a file extension are the UI's own routes and get index.html, so
// deep links survive a reload. `/api/...` paths never reach here.
//
// Thread-safety: immutable after Load; Serve may run on many threads at once.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "baton/common/status.h"
#include "baton/webapi/http_types.h"

namespace baton::webapi {

class StaticAssets {
 public:
  // Reads every regular file under `dir`. An error names the directory and how to build it.
  static Result<std::shared_ptr<const StaticAssets>> Load(const std::filesystem::path& dir);

  // The answer to GET/HEAD `request.path`.
  Response Serve(const Request& request) const;

  size_t file_count() const { return files_.size(); }

 private:
  struct File {
    std::string body;
    std::string gzip;  // empty when there is no .gz twin
    std::string content_type;
    bool immutable = false;  // content-hashed name: cache for a year
  };
  Response Send(const File& file, const Request& request) const;

  std::map<std::string, File, std::less<>> files_;  // by URL path ("/assets/app-X.js")
};

// <directory of the running binary>/../share/baton/web-ui: where `make build` puts the UI in
// the build tree (build/bin/baton -> build/share/baton/web-ui) and `make install` would.
std::filesystem::path DefaultWebUiDir();

}  // namespace baton::webapi
