// ImageLayer: the writable layer of one task over a shared, cached image rootfs (overlayfs).
//
// A task on an image may write anywhere in it (apt-style writes to /usr, /etc, /var) while the
// rootfs in the image cache stays as it was for every other task: the sandbox mounts an overlay
// with the rootfs as its lower layer and this layer's upper/ and work/ as the task's own. The
// layer lives in <layers dir>/<task id>-<n>/ on the worker (beside the task's work dir, never
// inside it, so the task's directory and outputs stay as they were) and is removed with the task:
// WithLayer removes it once the task's process is waited for or dropped.
//
// Thread-safety: an ImageLayer belongs to one task; Create may be called from several threads.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "baton/common/status.h"
#include "baton/workers/sandbox.h"

namespace baton::workers::sandbox {

// The directories of a layer as the sandbox's mount steps use them.
struct ImageLayerPaths {
  std::string lower;  // empty; the rootfs is bind-mounted (idmapped) here inside the sandbox
  std::string upper;  // the task's writes
  std::string work;   // overlayfs's own scratch directory
};

class ImageLayer {
 public:
  // Creates an empty layer in `layers_dir` for the task `task_id`. Fails with what to do when
  // the directory cannot be made or its path cannot appear in overlayfs's options.
  static Result<std::unique_ptr<ImageLayer>> Create(const std::string& layers_dir,
                                                    const std::string& task_id);
  ~ImageLayer();  // removes the layer, with whatever the task wrote
  ImageLayer(const ImageLayer&) = delete;
  ImageLayer& operator=(const ImageLayer&) = delete;

  // Gives upper/'s root the mode and owner of `rootfs`'s root, the owner shifted by `id_shift`
  // (the host id of the task's root when its lower layer is idmapped): the overlay's root takes
  // them from upper/, so the task owns `/` as it owns the image's root.
  Status MatchRoot(const std::string& rootfs, uint32_t id_shift);

  const ImageLayerPaths& paths() const { return paths_; }
  const std::string& dir() const { return dir_; }

 private:
  explicit ImageLayer(std::string dir);
  std::string dir_;
  ImageLayerPaths paths_;
};

// `process`, removing `layer` once the process has been waited for (or killed and reaped).
std::unique_ptr<SandboxedProcess> WithLayer(std::unique_ptr<SandboxedProcess> process,
                                            std::unique_ptr<ImageLayer> layer);

}  // namespace baton::workers::sandbox
