// The upload stage of a `cf` put: the app directory zipped as `cf push` does (cf_zip.h), or an
// archive (.zip, .jar, .war) given as the path, uploaded as the package's bits.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "resources/cf/cf_push.h"
#include "resources/cf/cf_zip.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

// The zip to upload; a temporary one is removed with this object.
class BitsZip {
 public:
  BitsZip() = default;
  BitsZip(std::string path, bool temporary) : path_(std::move(path)), temporary_(temporary) {}
  BitsZip(BitsZip&& other) noexcept
      : path_(std::move(other.path_)), temporary_(std::exchange(other.temporary_, false)) {}
  BitsZip& operator=(BitsZip&&) = delete;
  ~BitsZip() {
    std::error_code ec;
    if (temporary_) fs::remove(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool temporary_ = false;
};

std::string Boundary() {
  std::random_device rd;
  return "baton-cf-" + std::to_string(rd()) + std::to_string(rd());
}

Result<BitsZip> PrepareBits(const ResourceContext& ctx, const fs::path& app_path) {
  std::error_code ec;
  if (fs::is_regular_file(app_path, ec)) {
    // As `cf push -p app.jar`: an archive is uploaded as it is.
    BATON_ASSIGN_OR_RETURN(ZipSummary summary, CheckZipArchive(app_path.string()));
    LogLine(ctx, "cf: pushing the archive " + app_path.filename().string() + " (" +
                     std::to_string(summary.files) + " files, " + std::to_string(summary.bytes) +
                     " bytes)");
    return BitsZip(app_path.string(), false);
  }
  std::string tmpl = (fs::temp_directory_path() / "baton-cf-bits-XXXXXX").string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0)
    return IoError("cannot create a temporary zip file in " + fs::temp_directory_path().string() +
                   ": " + strerror(errno));
  close(fd);
  BitsZip zip(tmpl, true);
  BATON_ASSIGN_OR_RETURN(ZipSummary summary, ZipAppDirectory(app_path.string(), tmpl));
  LogLine(ctx, "cf: zipped " + std::to_string(summary.files) + " files (" +
                   std::to_string(summary.bytes) + " bytes) from " + app_path.string() +
                   "; left out " + std::to_string(summary.ignored) +
                   " path(s) per .cfignore and the cf CLI's defaults");
  return zip;
}

// "cf: uploaded 40 MB of 200 MB", once per kProgressStep and at the end.
constexpr uint64_t kProgressStep = 10ull << 20;

std::string Megabytes(uint64_t bytes) {
  char out[32];
  snprintf(out, sizeof out, "%.1f MB", static_cast<double>(bytes) / (1 << 20));
  return out;
}

}  // namespace

Status UploadBits(const ResourceContext& ctx, CfClient& client, const std::string& package,
                  const CfPushOptions& options) {
  BATON_ASSIGN_OR_RETURN(BitsZip zip, PrepareBits(ctx, options.app_dir));
  std::string b = Boundary();
  std::string head = "--" + b +
                     "\r\nContent-Disposition: form-data; name=\"resources\"\r\n\r\n[]\r\n--" + b +
                     "\r\nContent-Disposition: form-data; name=\"bits\"; "
                     "filename=\"application.zip\"\r\nContent-Type: application/zip\r\n\r\n";
  uint64_t next_report = kProgressStep;
  auto progress = [&](uint64_t sent, uint64_t total) {
    if (sent < next_report && sent < total) return;
    LogLine(ctx, "cf: uploaded " + Megabytes(sent) + " of " + Megabytes(total));
    while (next_report <= sent) next_report += kProgressStep;
  };
  // Streamed from the file: no overall deadline, only a stall timeout (a slow link is fine).
  BATON_RETURN_IF_ERROR(client
                            .Upload("/v3/packages/" + package + "/upload",
                                    "multipart/form-data; boundary=" + b, std::move(head),
                                    zip.path(), "\r\n--" + b + "--\r\n",
                                    options.upload_stall_timeout, progress)
                            .status());
  auto ready = PollUntil(
      ctx, client, "/v3/packages/" + package, options.job_timeout, "the package to be READY",
      [](const Json& p) -> Result<bool> {
        std::string state = p.value("state", "");
        if (state == "FAILED" || state == "EXPIRED") {
          Json error = p.value("data", Json::object()).value("error", Json());
          return FailedPrecondition("the package is " + state +
                                    (error.is_string() ? ": " + error.get<std::string>() : ""));
        }
        return state == "READY";
      });
  return ready.status();
}

}  // namespace baton::workers::resources
