// ImageLayer and WithLayer: see image_layer.h.
#include "sandbox/image_layer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>

#include "sandbox/held_process.h"
#include "sandbox/sys_util.h"

namespace baton::workers::sandbox {
namespace {

namespace fs = std::filesystem;

std::string SafeName(const std::string& id) {
  std::string out;
  for (char c : id) out += isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  if (out.size() > 64) out.resize(64);
  return out;
}

}  // namespace

ImageLayer::ImageLayer(std::string dir) : dir_(std::move(dir)) {
  paths_.lower = dir_ + "/lower";
  paths_.upper = dir_ + "/upper";
  paths_.work = dir_ + "/work";
}

ImageLayer::~ImageLayer() {
  std::error_code ec;
  fs::remove_all(dir_, ec);  // overlayfs's work/work is mode 000: root removes it all the same
}

Result<std::unique_ptr<ImageLayer>> ImageLayer::Create(const std::string& layers_dir,
                                                       const std::string& task_id) {
  // overlayfs splits its options at ',' and its layer lists at ':'; '\' escapes.
  if (layers_dir.find_first_of(",:\\") != std::string::npos) {
    return InvalidArgument("the worker's directory for task layers '" + layers_dir +
                           "' contains ',', ':' or '\\', which overlayfs cannot take in a path; "
                           "give the worker a work dir without them");
  }
  static std::atomic<uint64_t> counter{0};
  std::string dir = layers_dir + "/" + SafeName(task_id) + "-" + std::to_string(++counter);
  std::unique_ptr<ImageLayer> layer(new ImageLayer(dir));
  std::error_code ec;
  fs::create_directories(layers_dir, ec);
  for (const std::string* d :
       {&layer->dir_, &layer->paths_.lower, &layer->paths_.upper, &layer->paths_.work}) {
    if (::mkdir(d->c_str(), 0700) != 0) {
      return sys::ErrnoStatus("creating the task's writable layer " + *d, errno);
    }
  }
  return layer;
}

Status ImageLayer::MatchRoot(const std::string& rootfs, uint32_t id_shift) {
  struct stat st;
  if (::stat(rootfs.c_str(), &st) != 0) return sys::ErrnoStatus("stat " + rootfs, errno);
  // The layer's own directory stays 0700 and the host's root's: nobody else walks into it.
  if (::chown(paths_.upper.c_str(), st.st_uid + id_shift, st.st_gid + id_shift) != 0 ||
      ::chmod(paths_.upper.c_str(), st.st_mode & 07777) != 0) {
    return sys::ErrnoStatus("giving the task's writable layer " + paths_.upper + " its owner",
                            errno);
  }
  return Status::Ok();
}

std::unique_ptr<SandboxedProcess> WithLayer(std::unique_ptr<SandboxedProcess> process,
                                            std::unique_ptr<ImageLayer> layer) {
  return HoldUntilExit(std::move(process), std::move(layer));
}

}  // namespace baton::workers::sandbox
