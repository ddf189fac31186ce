// Volume streams: a volume (a step's input or output directory) as one tar stream compressed
// with zstd (or gzip), the form in which volumes travel between a web node and its workers
// (docs/workers.md).
//
// PackVolume carries regular files (mode bits without setuid/setgid), directories and symbolic
// links; it refuses device files, FIFOs and sockets. UnpackVolume accepts what PackVolume makes
// and refuses, naming the entry: absolute paths, `..` components, device files, FIFOs and
// sockets, symbolic links whose target is absolute or leaves the volume, and hard links to
// anything outside it. Every file is created beneath the volume's directory with
// openat2(RESOLVE_BENEATH), so not even a link the stream made earlier can lead a later entry
// outside. Only tar, zstd and gzip are read (no external programs, no other formats).
//
// Thread-safety: the functions are independent; do not unpack two streams into one directory
// at once.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton::workers {

enum class VolumeCompression { kZstd, kGzip };

// Receives the stream in chunks, in order. An error stops the packing and is returned.
using VolumeSink = std::function<Status(std::string_view chunk)>;

// Writes `dir`'s tree (paths relative to it) to `sink`.
Status PackVolume(const std::filesystem::path& dir, const VolumeSink& sink,
                  VolumeCompression compression = VolumeCompression::kZstd);

// Unpacks a whole stream held in memory into `dir` (created if missing). On error, what was
// unpacked so far stays; the caller removes the directory.
Status UnpackVolume(std::string_view stream, const std::filesystem::path& dir);

// The same over a reader: `read` returns the next chunk, empty at the end of the stream.
using VolumeSource = std::function<Result<std::string_view>()>;
Status UnpackVolume(const VolumeSource& read, const std::filesystem::path& dir);

// "sha256:<hex>" of `dir`'s content as a volume stream carries it: every entry's relative path
// and type, a regular file's bytes and owner-execute bit, a link's target (links are not
// followed). A directory unpacked from PackVolume's stream has its source's digest, so a web node
// and a worker can tell whether they hold the same volume without sending it. A missing `dir`
// digests as an empty one.
Result<std::string> VolumeDigest(const std::filesystem::path& dir);

}  // namespace baton::workers
