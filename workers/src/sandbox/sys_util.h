// Small system helpers shared by the sandbox sources: errno text, tiny file reads/writes,
// /proc/self/mountinfo parsing. Thread-safe (no shared state).
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstring>

#include <cstddef>
#include <string>
#include <vector>

#include "baton/common/status.h"

struct clone_args;  // <linux/sched.h>

namespace baton::workers::sys {

// "what: strerror(err)" as an error of `code`.
Status ErrnoStatus(const std::string& what, int err, StatusCode code = StatusCode::kIoError);
std::string ErrnoText(int err);

// Writes `value` to an existing (kernel) file such as a cgroup knob.
Status WriteSmallFile(const std::string& path, const std::string& value);
// Reads a small file whole; empty on error.
std::string ReadSmallFile(const std::string& path);
bool PathExists(const std::string& path);
// Whether the mounts of the namespace an open /proc/<pid>/mountinfo `fd` shows changed since it
// was opened (the kernel marks it, POLLPRI, until it is opened anew); true when `fd` is not open.
bool MountsChanged(int fd);

// Blocks SIGPIPE on this thread for its lifetime, so that writing to a pipe whose reader is gone
// gives EPIPE; a SIGPIPE that writing raised meanwhile is taken, not delivered, at its end. Inside
// another block (Spawn under TaskSupervisor::Run) it costs one system call and leaves the rest to
// the outer one.
class SigpipeBlock {
 public:
  SigpipeBlock();
  ~SigpipeBlock();
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t set_, old_;
  bool nested_ = false;  // SIGPIPE was blocked already
};

// One line of /proc/<pid>/mountinfo.
struct MountEntry {
  std::string mount_point;  // unescaped
  std::string root;         // root of the mount within its filesystem
  std::string options;      // per-mount options ("rw,nosuid,relatime")
  std::string fs_type;      // "ext4", "cgroup", "cgroup2", ...
  std::string source;
  std::string super_options;  // per-superblock options ("rw,memory")
};
std::vector<MountEntry> ReadMountInfo(const std::string& path = "/proc/self/mountinfo");

// A stack for a cloned child, mapped anonymous and unmapped when this goes (keeping errno). A
// child sharing this process's memory (CLONE_VM) never returns through its frames: under
// AddressSanitizer their redzones would stay poisoned in the shadow this process shares and fail
// whatever is mapped there next, so the shadow is cleared before the unmap. System calls only:
// usable in a cloned child before exec.
class ChildStack {
 public:
  explicit ChildStack(size_t size);
  ~ChildStack();
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;

  bool ok() const { return base_ != nullptr; }
  char* base() const { return base_; }
  char* top() const { return base_ + size_; }  // stacks grow down
  size_t size() const { return size_; }
  // For a stack used again: what a child left poisoned there (frames that never returned, under
  // AddressSanitizer) would otherwise fault the next child. Nothing without it.
  void Unpoison() const;

 private:
  char* base_ = nullptr;
  size_t size_;
};

#if defined(__x86_64__)
// clone3 with the child on `args->stack`, running fn(arg) and exiting with its result: what glibc's
// clone() does for clone(2), for clone3, which glibc 2.36 does not wrap. In assembly because a
// child sharing this memory must never return through the C++ frames of its parent. -1 with errno
// on failure.
pid_t Clone3OnStack(clone_args* args, int (*fn)(void*), void* arg);
#endif

// Pins `pid` to the CPU the caller runs on, its affinity before in `*before`. False, nothing
// changed, when either cannot be read or set.
bool PinToCallersCpu(pid_t pid, cpu_set_t* before);

// A message of the one byte `iov` holds, with room for descriptors in `control` (may be null).
// System calls only: usable in a cloned child before exec.
inline msghdr OneByteMessage(iovec* iov, void* control, size_t control_size) {
  msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = control_size;
  return msg;
}

// True if `token` is one of the comma-separated items of `list`.
bool HasCommaItem(const std::string& list, const std::string& token);
// True if `path` equals `dir` or lies beneath it (both absolute, normalised).
bool IsSameOrUnder(const std::string& path, const std::string& dir);

}  // namespace baton::workers::sys
