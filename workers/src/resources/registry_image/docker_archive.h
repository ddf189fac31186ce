// A `docker save` tarball turned into an OCI image layout that PushOciLayout pushes. The
// format is the one `docker save` (before Docker 25), `skopeo copy ... docker-archive:`,
// go-containerregistry's tarball package (crane, oci-build-task, kaniko) write, and that
// registry-image-resource's `out` reads: manifest.json names the config file and the layer
// tarballs (`<id>/layer.tar`, `<diff id>.tar`, `<digest>.tar.gz`), some of them links to others.
// Pure file work on a scratch directory; thread-compatible.
#pragma once

#include <map>
#include <string>

#include "baton/common/status.h"

namespace baton::workers::resources {

// The links of a tarball: the path of each symbolic or hard link to the path inside the tarball
// it leads to ("" when it leads outside the tarball).
using TarballLinks = std::map<std::string, std::string>;

// Records a link entry `name` of a tarball: a hard link names its target from the tarball's
// root, a symbolic link from its own directory.
void AddTarballLink(TarballLinks& links, const std::string& name, const std::string& target,
                    bool hard);

// Turns the files of a `docker save` tarball, extracted under `saved` (its manifest.json naming
// exactly one image), into an OCI image layout in `layout` holding that image as a Docker
// schema 2 manifest: the config as it is, each layer as it is when gzip-compressed and
// gzip-compressed here (level 1, no timestamp: the same bytes every time) when it is a plain
// tar, each checked against the config's rootfs.diff_ids. `where` starts every error.
Status DockerSaveToOciLayout(const std::string& saved, const TarballLinks& links,
                             const std::string& layout, const std::string& where);

}  // namespace baton::workers::resources
