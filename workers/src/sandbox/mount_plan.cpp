// The filesystem half of a ChildPlan: the mount steps that build the sandbox's root.
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <string_view>

#include "baton/common/path_beneath.h"
#include "sandbox/child_plan.h"
#include "sandbox/image_layer.h"
#include "sandbox/sys_util.h"

namespace baton::workers::sandbox {
namespace {

namespace fs = std::filesystem;

// Paths the sandbox replaces with its own mounts; host mounts beneath them are covered anyway.
const char* const kReplaced[] = {"/proc", "/dev", "/tmp"};
const char* const kDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

class StepList {
 public:
  explicit StepList(PreparedChild* out) : out_(out) {}

  void Mount(const std::string& source, const std::string& target, const char* fstype,
             unsigned long flags, const char* data, std::string what, bool optional = false,
             bool image_root = false, const std::string& kept_data = "") {
    SetupStep s;
    s.kind = StepKind::kMount;
    s.image_root = image_root;
    s.source = source.empty() ? nullptr : Keep(source);
    s.target = Keep(target);
    s.fstype = fstype;
    s.flags = flags;
    s.data = kept_data.empty() ? data : Keep(kept_data);
    s.optional = optional;
    Add(s, std::move(what));
  }
  void Bind(const std::string& source, const std::string& target, bool read_only,
            bool optional = false) {
    Mount(source, target, nullptr, MS_BIND | MS_REC, nullptr,
          "bind-mounting " + source + " at " + target, optional);
    if (read_only) {
      Mount("", target, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr,
            "making " + target + " read-only", optional);
    }
  }
  // Binds `source` at `rel` inside `beneath` (see StepKind::kBindBeneath).
  void BindBeneath(const std::string& source, const std::string& beneath, const std::string& rel,
                   bool is_dir, bool read_only, std::string what) {
    SetupStep s;
    s.kind = StepKind::kBindBeneath;
    s.source = Keep(source);
    s.beneath = Keep(beneath);
    s.target = Keep(rel);
    s.target_is_dir = is_dir;
    s.flags = read_only ? MS_RDONLY : 0;
    Add(s, std::move(what));
  }
  void Other(StepKind kind, const std::string& source, const std::string& target, std::string what,
             bool optional = false) {
    SetupStep s;
    s.kind = kind;
    s.source = source.empty() ? nullptr : Keep(source);
    s.target = Keep(target);
    s.optional = optional;
    Add(s, std::move(what));
  }

 private:
  const char* Keep(const std::string& s) { return out_->strings.Keep(s); }
  void Add(const SetupStep& s, std::string what) {
    out_->plan.steps.push_back(s);
    out_->step_descriptions.push_back(std::move(what));
  }
  PreparedChild* out_;
};

bool UnderReplaced(const std::string& path) {
  for (const char* r : kReplaced) {
    if (sys::IsSameOrUnder(path, r)) return true;
  }
  return false;
}

std::string Inside(const std::string& new_root, const std::string& path) {
  return path == "/" ? new_root : new_root + path;
}

// The directory of the new root; "" stands for the root of a copy of the shared root.
std::string RootDir(const std::string& new_root) { return new_root.empty() ? "/" : new_root; }

// Bind the root (host '/' or a rootfs dir) and make it and every mount beneath it read-only, each
// keeping its nosuid/nodev/noexec. (MS_BIND|MS_REC then one read-only remount would leave every
// submount writable; a remount per submount cost ~15 mount calls per task on a host's root.)
// An image's root is marked so that an unprivileged task's namespace can idmap it (its root then
// owns what root owns in the image); the host's root never is.
void AddReadOnlyRoot(const std::string& root, bool image, const std::string& new_root,
                     StepList& steps) {
  steps.Mount(root, new_root, nullptr, MS_BIND | MS_REC, nullptr,
              "bind-mounting the root " + root + " at " + new_root, /*optional=*/false, image);
  steps.Other(StepKind::kReadOnlyTree, "", new_root, "making the root read-only");
}

// An image's root as an overlay: the cached rootfs (bound, idmapped for an unprivileged task, at
// the layer's lower/) under the task's own upper/, so the task may write anywhere in it while the
// cache stays untouched. The mount points the sandbox needs are made in the overlay (upper/), not
// in the cache. The lower bind is made inside the sandbox's mount namespace, so the host never
// sees it, and overlayfs needs a path for it (a detached mount has none).
void AddWritableRoot(const std::string& root, const ImageLayerPaths& layer,
                     const std::string& new_root, StepList& steps) {
  steps.Mount(root, layer.lower, nullptr, MS_BIND | MS_REC, nullptr,
              "bind-mounting the image root " + root + " at " + layer.lower, /*optional=*/false,
              /*image_root=*/true);
  // volatile: the layer is thrown away with the task, so overlayfs need not sync the upper
  // filesystem (the worker's whole disk) when the task's namespace goes.
  std::string options = "lowerdir=" + layer.lower + ",upperdir=" + layer.upper +
                        ",workdir=" + layer.work + ",volatile";
  steps.Mount(
      "overlay", new_root, "overlay", 0, nullptr,
      "mounting the task's writable layer " + layer.upper + " over the image root (overlayfs)",
      /*optional=*/false, /*image_root=*/false, options);
  for (const char* d : {"/proc", "/dev", "/tmp"}) {
    steps.Other(StepKind::kMkdirAll, "", new_root + d, std::string("creating ") + d);
  }
}

// The /dev every task shares in a shared root, or a task's own: a tmpfs with the host's devices
// bound in, the mount points of /dev/shm and /dev/pts and the usual links.
void AddDevNodes(const std::string& new_root, StepList& steps) {
  std::string dev = new_root + "/dev";
  steps.Mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536",
              "mounting tmpfs at /dev");
  for (const char* d : kDevices) {
    std::string target = dev + "/" + d;
    steps.Other(StepKind::kTouch, "", target, std::string("creating /dev/") + d);
    steps.Mount(std::string("/dev/") + d, target, nullptr, MS_BIND, nullptr,
                std::string("bind-mounting /dev/") + d);
  }
  steps.Other(StepKind::kMkdirAll, "", dev + "/shm", "creating /dev/shm");
  steps.Other(StepKind::kMkdirAll, "", dev + "/pts", "creating /dev/pts");
  steps.Other(StepKind::kSymlink, "pts/ptmx", dev + "/ptmx", "linking /dev/ptmx");
  steps.Other(StepKind::kSymlink, "/proc/self/fd", dev + "/fd", "linking /dev/fd");
  steps.Other(StepKind::kSymlink, "/proc/self/fd/0", dev + "/stdin", "linking /dev/stdin");
  steps.Other(StepKind::kSymlink, "/proc/self/fd/1", dev + "/stdout", "linking /dev/stdout");
  steps.Other(StepKind::kSymlink, "/proc/self/fd/2", dev + "/stderr", "linking /dev/stderr");
}

// A task's own /dev/shm and /dev/pts.
void AddDevMounts(const std::string& new_root, StepList& steps) {
  std::string dev = new_root + "/dev";
  steps.Mount("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777",
              "mounting tmpfs at /dev/shm");
  steps.Mount("devpts", dev + "/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=620", "mounting devpts", /*optional=*/true);
}

void AddProc(const std::string& new_root, StepList& steps) {
  std::string proc = new_root + "/proc";
  steps.Mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr, "mounting /proc");
  for (const char* p : {"/sys", "/sysrq-trigger"}) {
    steps.Bind(proc + p, proc + p, /*read_only=*/true, /*optional=*/true);  // not every kernel
  }
}

// Host paths no task has a reason to see and that hold secrets (issue 9): homes with their
// ~/.batonrc, credentials under /run and /var/lib, container engine sockets, SSH host keys.
// Masked on the host root even for privileged tasks, with the worker's hidden_paths (its data
// dir, the server's, and those given by flag).
const char* const kMaskedPaths[] = {"/root",
                                    "/home",
                                    "/run/secrets",
                                    "/run/credentials",
                                    "/run/user",
                                    "/run/sudo",
                                    "/var/lib/baton",
                                    "/var/lib/private",
                                    "/var/lib/postgresql",
                                    "/var/lib/mysql",
                                    "/var/lib/redis",
                                    "/var/lib/docker",
                                    "/var/lib/containers",
                                    "/run/docker.sock",
                                    "/run/containerd",
                                    "/run/podman"};

}  // namespace

std::vector<std::string> MaskCandidates(const SandboxOptions& options, const char* ssh_dir) {
  std::vector<std::string> wanted(std::begin(kMaskedPaths), std::end(kMaskedPaths));
  wanted.insert(wanted.end(), options.hidden_paths.begin(), options.hidden_paths.end());
  if (DIR* ssh = ::opendir(ssh_dir)) {
    while (const dirent* entry = ::readdir(ssh)) {
      std::string_view name = entry->d_name;
      if (name.rfind("ssh_host_", 0) == 0 && name.size() > 4 &&
          name.compare(name.size() - 4, 4, "_key") == 0) {
        wanted.push_back(std::string(ssh_dir) + "/" + std::string(name));
      }
    }
    ::closedir(ssh);
  }
  return wanted;
}

// realpath(3) directly, not fs::canonical, which answers the same through a path object per
// component: ~15 us instead of ~23 us for all of them (docs/benchmarks.md, helper `perjob`).
std::string MaskTarget(const std::string& candidate) {
  char real[PATH_MAX];
  // Where it really is: a mount follows symlinks, and these resolve before pivot_root.
  if (::realpath(candidate.c_str(), real) == nullptr) return {};
  if (std::string_view(real) == "/" || UnderReplaced(real)) return {};
  return real;
}

// The host may have changed since the last task (a path to mask made, a link moved, a new SSH host
// key): worked out anew at each call. A worker keeps them in a MaskCache (mask_cache.h) instead.
std::vector<std::string> MaskedPaths(const SandboxOptions& options) {
  std::vector<std::string> out;
  for (const auto& path : MaskCandidates(options)) {
    if (std::string real = MaskTarget(path); !real.empty()) out.push_back(std::move(real));
  }
  return out;
}

namespace {

// Empty read-only tmpfs over directories, /dev/null over files (and sockets). One tmpfs, mounted
// over the first directory and bound over the others: a bind of a read-only mount is read-only,
// and a superblock fewer per masked path to make and to tear down with the task.
void AddMasks(const std::vector<std::string>& masked, const std::string& new_root,
              StepList& steps) {
  std::string empty_dir;  // where the task's empty tmpfs is mounted first
  std::string null_file;  // where /dev/null is first bound, read-only
  for (size_t i = 0; i < masked.size(); ++i) {
    const std::string& path = masked[i];
    bool covered = false;  // a parent already masked makes this path vanish with it
    for (size_t j = 0; j < masked.size(); ++j) {
      covered = covered || (masked[j] != path && sys::IsSameOrUnder(path, masked[j])) ||
                (j < i && masked[j] == path);
    }
    if (covered) continue;
    std::error_code ec;
    if (fs::is_directory(path, ec) && empty_dir.empty()) {
      empty_dir = Inside(new_root, path);
      steps.Mount("tmpfs", empty_dir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=4096,mode=755", "hiding " + path);
    } else if (fs::is_directory(path, ec)) {
      steps.Mount(empty_dir, Inside(new_root, path), nullptr, MS_BIND, nullptr, "hiding " + path);
    } else if (null_file.empty()) {
      null_file = Inside(new_root, path);
      steps.Bind("/dev/null", null_file, /*read_only=*/true);
    } else {  // a bind of the read-only one: read-only without a remount
      steps.Mount(null_file, Inside(new_root, path), nullptr, MS_BIND, nullptr, "hiding " + path);
    }
  }
}

// Volumes are mounted with their mount points resolved inside the work mount (or, for the
// worker's own absolute paths, inside the new root): a `..` or a symlink left in an input by an
// earlier step must not create directories on the host (issue 9).
Status AddVolumes(const TaskRun& run, const std::string& new_root, const std::string& work_mount,
                  StepList& steps) {
  for (const auto& m : run.mounts) {
    std::error_code ec;
    if (!fs::exists(m.host_path, ec)) {
      return NotFound("volume " + m.host_path + " (for " + m.sandbox_path + ") does not exist");
    }
    bool absolute = !m.sandbox_path.empty() && m.sandbox_path[0] == '/';
    std::string rel = absolute ? m.sandbox_path.substr(1) : m.sandbox_path;
    if (std::string problem = RelativePathProblem(rel); !problem.empty()) {
      return InvalidArgument("cannot mount " + m.host_path + " at '" + m.sandbox_path +
                             "' in the task's directory: " + problem +
                             "; use a relative path that stays inside it");
    }
    std::string inside = absolute ? m.sandbox_path : work_mount + "/" + m.sandbox_path;
    steps.BindBeneath(m.host_path, absolute ? RootDir(new_root) : new_root + work_mount, rel,
                      fs::is_directory(m.host_path, ec), !m.writable,
                      "bind-mounting " + m.host_path + " at " + inside);
  }
  return Status::Ok();
}

// What every task gets a new one of, whatever the task: /tmp, /dev/shm, /dev/pts, /proc.
void AddCommonMounts(const std::string& new_root, StepList& steps) {
  steps.Mount("tmpfs", new_root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777",
              "mounting tmpfs at /tmp");
  AddDevMounts(new_root, steps);
  AddProc(new_root, steps);
}

// The task's own directories: its work dir and volumes.
Status AddTaskBinds(const TaskRun& run, const std::string& new_root, const std::string& work_mount,
                    StepList& steps) {
  std::error_code ec;
  if (run.work_dir.empty()) return InvalidArgument("task has no work dir");
  if (!fs::is_directory(run.work_dir, ec)) {
    return NotFound("work dir " + run.work_dir + " does not exist");
  }
  if (work_mount.size() < 2 || work_mount[0] != '/' ||
      !RelativePathProblem(work_mount.substr(1)).empty()) {
    return InvalidArgument("the work mount '" + work_mount +
                           "' must be an absolute path without `..`");
  }
  steps.BindBeneath(run.work_dir, RootDir(new_root), work_mount.substr(1), /*is_dir=*/true,
                    /*read_only=*/false, "bind-mounting " + run.work_dir + " at " + work_mount);
  return AddVolumes(run, new_root, work_mount, steps);
}

// What every task gets of its own: /tmp, /dev/shm, /dev/pts, /proc, its work dir and volumes.
Status AddTaskMounts(const TaskRun& run, const std::string& new_root, const std::string& work_mount,
                     StepList& steps) {
  AddCommonMounts(new_root, steps);
  return AddTaskBinds(run, new_root, work_mount, steps);
}

}  // namespace

void PrepareSharedRoot(const std::vector<std::string>& masked, const std::string& resolv_conf,
                       const std::string& new_root, PreparedChild* out) {
  StepList steps(out);
  steps.Mount("", "/", nullptr, MS_REC | MS_PRIVATE, nullptr, "making mounts private");
  AddReadOnlyRoot("/", /*image=*/false, new_root, steps);
  AddMasks(masked, new_root, steps);
  AddDevNodes(new_root, steps);
  // Read-only: every task sees this one tmpfs (the devices' own binds stay as the host's are).
  steps.Mount("", new_root + "/dev", nullptr,
              MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, nullptr,
              "making /dev read-only");
  if (!resolv_conf.empty()) {
    steps.Bind(resolv_conf, new_root + "/etc/resolv.conf", /*read_only=*/true);
  }
}

Status PrepareTaskMounts(const TaskRun& run, const std::string& work_mount, PreparedChild* out) {
  StepList steps(out);
  return AddTaskMounts(run, "", work_mount, steps);
}

void PrepareCommonTaskMounts(PreparedChild* out) {
  StepList steps(out);
  AddCommonMounts("", steps);
}

Status PrepareTaskBinds(const TaskRun& run, const std::string& work_mount, PreparedChild* out) {
  StepList steps(out);
  return AddTaskBinds(run, "", work_mount, steps);
}

Status PrepareMounts(const TaskRun& run, const SandboxOptions& options, const std::string& new_root,
                     const std::string& work_mount, const ImageLayerPaths* layer,
                     PreparedChild* out) {
  StepList steps(out);
  steps.Mount("", "/", nullptr, MS_REC | MS_PRIVATE, nullptr, "making mounts private");
  bool host = run.rootfs.kind == RootfsSpec::Kind::kHost;
  std::error_code ec;
  std::string root = host ? "/" : fs::canonical(run.rootfs.path, ec).string();
  if (ec) return NotFound("rootfs " + run.rootfs.path + ": " + ec.message());
  if (!host && layer) {
    AddWritableRoot(root, *layer, new_root, steps);
  } else {
    if (!host) {
      for (const char* d : {"proc", "dev", "tmp"}) fs::create_directories(root + "/" + d, ec);
    }
    AddReadOnlyRoot(root, !host, new_root, steps);
  }
  if (host) AddMasks(MaskedPaths(options), new_root, steps);
  AddDevNodes(new_root, steps);
  return AddTaskMounts(run, new_root, work_mount, steps);
}

}  // namespace baton::workers::sandbox
