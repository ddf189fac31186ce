// RemoteWorkers' volumes on the web node: a volume a worker asks for is packed once into a spool
// file and read from it in chunks; a changed volume a worker sends back is spooled chunk by
// chunk and unpacked over the web node's directory when the step ends. Nothing is held whole in
// memory.
#include <boost/asio/post.hpp>

#include <fstream>

#include "baton/workers/volume_stream.h"
#include "runtime/remote_workers_impl.h"

namespace baton::webapi {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

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

Status UnpackFile(const fs::path& file, const fs::path& dir) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return IoError("cannot read the spooled volume " + file.string());
  std::string buffer(256 * 1024, '\0');
  workers::VolumeSource read = [&]() -> Result<std::string_view> {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.bad()) return IoError("cannot read the spooled volume " + file.string());
    return std::string_view(buffer.data(), static_cast<size_t>(in.gcount()));
  };
  return workers::UnpackVolume(read, dir);
}

}  // namespace

Result<std::string> RemoteWorkers::Impl::PackedVolume(Dispatch& d, int index) {
  std::lock_guard lock(d.pack_mu);
  if (auto found = d.packed.find(index); found != d.packed.end()) return found->second;
  fs::path file = options_.spool_dir / (d.id + "-" + std::to_string(index) + ".out.tar.zst");
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) return IoError("cannot write " + file.string() + "; check the data dir");
  Status packed = workers::PackVolume(d.paths[index], [&](std::string_view chunk) {
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    return out ? Status::Ok() : IoError("cannot write " + file.string() + " (disk full?)");
  });
  out.close();
  if (!packed.ok()) return packed;
  d.packed[index] = file.string();
  return file.string();
}

void RemoteWorkers::Impl::ReadVolume(const std::string& session, const std::string& step, int index,
                                     uint64_t offset, size_t max,
                                     std::function<void(Result<Chunk>)> reply) {
  std::shared_ptr<Dispatch> d;
  {
    std::lock_guard lock(mu_);
    auto owned = Owned(session, step);
    if (!owned.ok()) return reply(owned.status());
    d = *owned;
  }
  if (index < 0 || index >= static_cast<int>(d->paths.size())) {
    return reply(NotFound("step " + step + " has no volume " + std::to_string(index)));
  }
  asio::post(pool_, [self = shared_from_this(), d, index, offset, max, reply = std::move(reply)] {
    auto file = self->PackedVolume(*d, index);
    if (!file.ok()) return reply(file.status());
    std::ifstream in(*file, std::ios::binary | std::ios::ate);
    Chunk chunk;
    chunk.size = static_cast<uint64_t>(in.tellg());
    if (offset > chunk.size) {
      return reply(InvalidArgument("offset " + std::to_string(offset) + " is past the volume's " +
                                   std::to_string(chunk.size) + " bytes"));
    }
    chunk.bytes.resize(std::min<uint64_t>(max, chunk.size - offset));
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(chunk.bytes.data(), static_cast<std::streamsize>(chunk.bytes.size()));
    if (!in) return reply(IoError("cannot read " + *file));
    reply(std::move(chunk));
  });
}

Status RemoteWorkers::Impl::WriteVolume(const std::string& session, const std::string& step,
                                        int index, uint64_t offset, std::string_view bytes) {
  std::lock_guard lock(mu_);
  BATON_ASSIGN_OR_RETURN(auto d, Owned(session, step));
  if (index < 0 || index >= static_cast<int>(d->step.volumes.size()) ||
      !d->step.volumes[index].writable) {
    return InvalidArgument("volume " + std::to_string(index) + " of step " + step +
                           " is not a writable volume of the step");
  }
  fs::path file = options_.spool_dir / (d->id + "-" + std::to_string(index) + ".in.tar.zst");
  std::error_code ec;
  uint64_t have = offset == 0 ? 0 : fs::file_size(file, ec);
  if (ec || have != offset) {
    return InvalidArgument("volume upload out of order: the web node has " + std::to_string(have) +
                           " bytes, the chunk starts at " + std::to_string(offset));
  }
  std::ofstream out(file, std::ios::binary | (offset == 0 ? std::ios::trunc : std::ios::app));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return IoError("cannot write " + file.string() + " (disk full?)");
  d->uploads[index] = file.string();
  return Status::Ok();
}

Status RemoteWorkers::Impl::UnpackUploads(Dispatch& d, const Json& volumes,
                                          const std::map<int, std::string>& files) {
  for (const auto& v : volumes) {
    int index = v.value("index", -1);
    auto file = files.find(index);
    if (file == files.end()) {
      return FailedPrecondition("the worker reported volume " + std::to_string(index) +
                                " changed but did not send it");
    }
    const std::string& dir = d.paths[index];
    BATON_RETURN_IF_ERROR(EmptyDirectory(dir));
    if (Status s = UnpackFile(file->second, dir); !s.ok()) {
      return Status(s.code(), "cannot take the worker's volume " + dir + ": " + s.message());
    }
  }
  return Status::Ok();
}

void RemoteWorkers::Impl::RemoveSpools(const Dispatch& d,
                                       const std::map<int, std::string>& uploads) {
  std::error_code ec;
  for (const auto& [index, file] : uploads) fs::remove(file, ec);
  std::lock_guard lock(const_cast<Dispatch&>(d).pack_mu);
  for (const auto& [index, file] : d.packed) fs::remove(file, ec);
}

}  // namespace baton::webapi
