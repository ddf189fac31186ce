#include "remote/step_volumes.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "baton/common/sha256.h"
#include "baton/workers/volume_stream.h"

namespace baton::workers {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = 4u << 20;  // the web node's largest volume chunk

net::ClientOptions ClientOptionsOf(const WebStepRunnerOptions& options) {
  net::ClientOptions out;
  out.ca_file = options.ca_file;
  out.insecure_skip_verify = options.insecure_skip_verify;
  out.request_timeout = std::chrono::minutes(2);  // an answer may wait for the build log
  return out;
}

Status ErrorOf(const net::ClientResponse& r, const std::string& what) {
  Json body = Json::parse(r.body, nullptr, false);
  std::string reason =
      body.is_object() ? body.value("error", "") + ": " + body.value("detail", "") : r.body;
  StatusCode code = r.status == 404   ? StatusCode::kNotFound
                    : r.status == 401 ? StatusCode::kPermissionDenied
                                      : StatusCode::kUnavailable;
  return Status(code, what + " (HTTP " + std::to_string(r.status) + " " + reason + ")");
}

Status EmptyDirectory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    fs::remove_all(it->path(), ec);
    if (ec) break;
  }
  if (ec) return IoError("cannot empty " + dir.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

// --- StepLink -------------------------------------------------------------------------------

StepLink::StepLink(const WebStepRunnerOptions& options, StepSessions sessions, std::string session,
                   std::string step)
    : options_(options),
      sessions_(std::move(sessions)),
      step_(std::move(step)),
      client_(ClientOptionsOf(options)),
      output_client_(ClientOptionsOf(options)),
      session_(std::move(session)) {
  headers_.Set("Authorization", "Bearer " + options_.key);
}

std::string StepLink::session() const {
  std::lock_guard lock(mu_);
  return session_;
}

std::string StepLink::Url(const std::string& tail) const {
  return options_.web_url + "/worker/v2/steps/" + net::PercentEncode(step_) + tail;
}

std::string StepLink::VolumeUrl(int index, uint64_t offset, const std::string& session) const {
  return Url("/volumes/" + std::to_string(index)) + "?session=" + net::PercentEncode(session) +
         "&offset=" + std::to_string(offset);
}

Result<net::ClientResponse> StepLink::Exchange(const std::string& what, const Send& send) {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + options_.keep_for;
  std::string session = this->session();
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (gave_up_) return Unavailable("gave up on the web node earlier; " + what + " dropped");
    }
    auto reply = send(session);
    // Retried: the web node cannot be reached or has trouble (5xx, 503 while it adopts this
    // step after a restart), or it forgot the session (it restarted: wait for the next one).
    std::string stale;
    if (reply.ok()) {
      Json body = reply->status == 404 ? Json::parse(reply->body, nullptr, false) : Json();
      bool unknown = body.is_object() && body.value("error", "") == "unknown session";
      if (unknown) {
        stale = session;
      } else {
        std::lock_guard lock(mu_);
        session_ = session;  // the web node knows it
      }
      if (reply->status == 200) return reply;
      if (!unknown && reply->status < 500) return ErrorOf(*reply, what);
    }
    if (sessions_.stopped()) return Unavailable("the worker is stopping; " + what + " dropped");
    std::string next =
        sessions_.await(session, std::min(until, Clock::now() + std::chrono::seconds(1)));
    if (next.empty()) next = sessions_.await(stale, until);
    if (next.empty()) {
      if (sessions_.stopped()) return Unavailable("the worker is stopping; " + what + " dropped");
      std::lock_guard lock(mu_);
      gave_up_ = true;
      return Unavailable("the web node at " + options_.web_url + " did not come back within " +
                         std::to_string(options_.keep_for.count() / 1000) + " s; " + what +
                         " dropped");
    }
    session = next;
  }
}

Status StepLink::SendOutput(const Json& lines) {
  Json body = {{"session", ""}, {"lines", lines}};
  auto reply = Exchange("output of step " + step_, [&](const std::string& session) {
    body["session"] = session;
    std::string text = body.dump(-1, ' ', false, Json::error_handler_t::replace);
    return output_client_.Post(Url("/output"), text, headers_);
  });
  return reply.status();
}

Status StepLink::SendResult(const Json& result, const Json& changed_volumes) {
  Json body = {{"session", ""}, {"result", result}, {"volumes", changed_volumes}};
  auto reply = Exchange("the result of step " + step_, [&](const std::string& session) {
    body["session"] = session;
    std::string text = body.dump(-1, ' ', false, Json::error_handler_t::replace);
    return client_.Post(Url("/result"), text, headers_);
  });
  return reply.status();
}

Result<std::pair<std::string, uint64_t>> StepLink::ReadVolume(int index, uint64_t offset) {
  BATON_ASSIGN_OR_RETURN(auto reply,
                         Exchange("volume " + std::to_string(index) + " of step " + step_,
                                  [&](const std::string& session) {
                                    return client_.Get(VolumeUrl(index, offset, session), headers_);
                                  }));
  uint64_t size = std::stoull(reply.headers.Get("X-Baton-Volume-Size").value_or("0"));
  return std::make_pair(std::move(reply.body), size);
}

Status StepLink::WriteVolume(int index, uint64_t offset, std::string bytes) {
  net::Headers headers = headers_;
  headers.Set("Content-Type", "application/octet-stream");
  auto reply = Exchange("volume " + std::to_string(index) + " of step " + step_ + " (sent back)",
                        [&](const std::string& session) {
                          return client_.Put(VolumeUrl(index, offset, session), bytes, headers);
                        });
  return reply.status();
}

// --- HeldVolumes ----------------------------------------------------------------------------

HeldVolumes::HeldVolumes(std::string work_dir) : work_dir_(std::move(work_dir)) {
  std::error_code ec;
  // Volumes of an earlier run of this worker are not known to be current: start empty.
  fs::remove_all(fs::path(work_dir_) / "volumes", ec);
  fs::remove_all(fs::path(work_dir_) / "spool", ec);
  fs::create_directories(fs::path(work_dir_) / "spool", ec);
}

std::string HeldVolumes::DirOf(const std::string& key) const {
  return (fs::path(work_dir_) / "volumes" / Sha256Hex(key).substr(0, 32)).string();
}

std::shared_ptr<std::mutex> HeldVolumes::LockOf(const std::string& key) {
  std::lock_guard lock(mu_);
  auto& m = locks_[key];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

Result<std::string> HeldVolumes::Fetch(const wire::StepVolume& volume, StepLink& link) {
  auto key_lock = LockOf(volume.key);
  std::lock_guard fetching(*key_lock);
  std::string dir = DirOf(volume.key);
  {
    std::lock_guard lock(mu_);
    auto held = digests_.find(volume.key);
    if (held != digests_.end() && held->second == volume.digest) return dir;
    digests_.erase(volume.key);
  }
  fs::path spool =
      fs::path(work_dir_) / "spool" / (link.step() + "-" + std::to_string(volume.index));
  {
    std::ofstream out(spool, std::ios::binary | std::ios::trunc);
    uint64_t offset = 0, size = 1;
    while (offset < size) {
      BATON_ASSIGN_OR_RETURN(auto chunk, link.ReadVolume(volume.index, offset));
      size = chunk.second;
      if (chunk.first.empty() && offset < size) return Unavailable("volume stream ended early");
      out.write(chunk.first.data(), static_cast<std::streamsize>(chunk.first.size()));
      offset += chunk.first.size();
    }
    if (!out) return IoError("cannot write " + spool.string() + " (disk full?)");
  }
  BATON_RETURN_IF_ERROR(EmptyDirectory(dir));
  std::ifstream in(spool, std::ios::binary);
  std::string buffer(256 * 1024, '\0');
  Status unpacked = UnpackVolume(
      [&]() -> Result<std::string_view> {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        return std::string_view(buffer.data(), static_cast<size_t>(in.gcount()));
      },
      dir);
  std::error_code ec;
  fs::remove(spool, ec);
  if (!unpacked.ok()) return unpacked;
  std::lock_guard lock(mu_);
  digests_[volume.key] = volume.digest;
  return dir;
}

Status HeldVolumes::Send(const wire::StepVolume& volume, const std::string& dir,
                         const std::string& digest, StepLink& link) {
  fs::path spool =
      fs::path(work_dir_) / "spool" / (link.step() + "-" + std::to_string(volume.index) + ".up");
  {
    std::ofstream out(spool, std::ios::binary | std::ios::trunc);
    BATON_RETURN_IF_ERROR(PackVolume(dir, [&](std::string_view chunk) {
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      return out ? Status::Ok() : IoError("cannot write " + spool.string() + " (disk full?)");
    }));
  }
  Status sent;
  // A web node that restarted mid-upload has none of it: start again under the new session.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string session = link.session();
    std::ifstream in(spool, std::ios::binary);
    uint64_t offset = 0;
    do {
      std::string chunk(kChunkBytes, '\0');
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      chunk.resize(static_cast<size_t>(in.gcount()));
      size_t n = chunk.size();
      sent = link.WriteVolume(volume.index, offset, std::move(chunk));
      offset += n;
    } while (sent.ok() && in);
    if (sent.ok() || link.session() == session) break;
  }
  std::error_code ec;
  fs::remove(spool, ec);
  std::lock_guard lock(mu_);
  if (sent.ok()) {
    digests_[volume.key] = digest;
  } else {
    digests_.erase(volume.key);
  }
  return sent;
}

Result<std::string> HeldVolumes::PutDirectory(const wire::Step& step,
                                              const std::vector<std::string>& dirs) {
  fs::path dir = fs::path(work_dir_) / "put" / step.id;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return IoError("cannot create " + dir.string() + ": " + ec.message());
  for (const auto& input : step.put_inputs) {
    if (input.volume < 0 || input.volume >= static_cast<int>(dirs.size()) ||
        input.name.find('/') != std::string::npos || input.name.empty() || input.name == "." ||
        input.name == "..") {
      return InvalidArgument("the web node sent a put with a bad input '" + input.name + "'");
    }
    fs::create_directory_symlink(dirs[input.volume], dir / input.name, ec);
    if (ec) return IoError("cannot link put input " + input.name + ": " + ec.message());
  }
  return dir.string();
}

}  // namespace baton::workers
