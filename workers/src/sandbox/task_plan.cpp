// The task half of a ChildPlan: user, working dir, environment, argv and executable.
#include <linux/capability.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "sandbox/child_plan.h"
#include "sandbox/sys_util.h"

namespace baton::workers::sandbox {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct UserEntry {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home = "/";
};

bool IsNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// Finds `user` (a name, or a numeric uid) in <rootfs>/etc/passwd.
Result<UserEntry> LookUpUser(const std::string& user, const std::string& rootfs) {
  std::string passwd = (rootfs == "/" ? "" : rootfs) + "/etc/passwd";
  std::ifstream in(passwd);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string item;
    while (std::getline(fields, item, ':')) f.push_back(item);
    if (f.size() < 6 || !IsNumber(f[2]) || !IsNumber(f[3])) continue;
    if (f[0] != user && f[2] != user) continue;
    return UserEntry{static_cast<uid_t>(std::stoul(f[2])), static_cast<gid_t>(std::stoul(f[3])),
                     f[5].empty() ? "/" : f[5]};
  }
  if (IsNumber(user)) {
    auto id = static_cast<uid_t>(std::stoul(user));
    return UserEntry{id, static_cast<gid_t>(id), "/"};
  }
  return NotFound("user '" + user + "' does not exist in " + passwd);
}

std::string JoinUnder(const std::string& base, const std::string& rel) {
  if (rel.empty() || rel == ".") return base;
  if (rel[0] == '/') return rel;
  return base == "/" ? "/" + rel : base + "/" + rel;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> dirs;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    dirs.push_back(dir.empty() ? "." : dir);
    start = end + 1;
  }
  return dirs;
}

// Docker's default capability set: enough for package managers and chown, not enough to
// remount, load modules, trace other processes or make devices.
uint64_t DefaultCapabilities() {
  const int caps[] = {
      CAP_CHOWN,      CAP_DAC_OVERRIDE, CAP_FOWNER,  CAP_FSETID,           CAP_KILL,
      CAP_SETGID,     CAP_SETUID,       CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW,
      CAP_SYS_CHROOT, CAP_AUDIT_WRITE,  CAP_SETFCAP};
  uint64_t mask = 0;
  for (int c : caps) mask |= uint64_t{1} << c;
  return mask;
}

// The highest capability the running kernel knows: dropping one past it fails (EINVAL), 23 system
// calls a task on a kernel that knows 41. A constant of the kernel, read once; 63 (every bit of
// the mask) when it cannot be read.
int LastCapability() {
  static const int last = [] {
    std::string text = sys::ReadSmallFile("/proc/sys/kernel/cap_last_cap");
    int value = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    bool whole = end != text.data() && (end == text.data() + text.size() || *end == '\n');
    return ec == std::errc() && whole && value >= 0 && value <= 63 ? value : 63;
  }();
  return last;
}

void PrepareEnvironment(const TaskRun& run, const std::string& home, PreparedChild* out) {
  std::map<std::string, std::string> env = run.env;
  if (!env.count("PATH")) env["PATH"] = kDefaultPath;
  if (!env.count("HOME")) env["HOME"] = home;
  for (const auto& [k, v] : env) out->plan.envp.push_back(out->strings.KeepMutable(k + "=" + v));
  out->plan.envp.push_back(nullptr);
  for (const auto& dir : SplitPath(env["PATH"])) {
    out->plan.path_dirs.push_back(out->strings.Keep(dir));
  }
}

}  // namespace

Status PrepareTask(const TaskRun& run, const std::string& work_mount, const std::string& rootfs,
                   PreparedChild* out) {
  if (run.path.empty()) return InvalidArgument("task has no run.path");
  ChildPlan& p = out->plan;
  UserEntry user{0, 0, "/root"};
  if (!run.user.empty()) {
    BATON_ASSIGN_OR_RETURN(user, LookUpUser(run.user, rootfs));
    p.set_user = true;
    p.uid = user.uid;
    p.gid = user.gid;
  }
  out->user_description = run.user.empty() ? "root" : run.user;
  std::string dir = JoinUnder(work_mount, run.dir);
  p.dir = out->strings.Keep(dir);
  out->dir_description = dir;
  PrepareEnvironment(run, user.home, out);
  p.exec_path = out->strings.Keep(run.path);
  p.search_path = run.path.find('/') == std::string::npos;
  out->exec_description = run.path;
  p.argv.push_back(out->strings.KeepMutable(run.path));
  for (const auto& a : run.args) p.argv.push_back(out->strings.KeepMutable(a));
  p.argv.push_back(nullptr);
  p.drop_caps = p.sandboxed && !run.privileged;
  p.keep_caps = DefaultCapabilities();
  p.last_cap = LastCapability();
  return Status::Ok();
}

Status DescribeChildError(const PreparedChild& child, const ChildError& e) {
  std::string err = sys::ErrnoText(e.err);
  if (e.point >= 0 && static_cast<size_t>(e.point) < child.step_descriptions.size()) {
    bool escape = child.plan.steps[e.point].kind == StepKind::kBindBeneath &&
                  (e.err == ELOOP || e.err == EXDEV);
    return FailedPrecondition(
        "sandbox setup failed: " + child.step_descriptions[e.point] + ": " + err +
        (escape ? " (a symbolic link on the way: mount points are never made through links, "
                  "so that an input cannot point them outside the task; remove the link)"
                : ""));
  }
  switch (e.point) {
    case kFailExec:
      return FailedPrecondition("cannot run task: exec '" + child.exec_description + "': " + err);
    case kFailDir:
      return FailedPrecondition("cannot run task: working directory '" + child.dir_description +
                                "': " + err);
    case kFailUser:
      return FailedPrecondition("cannot run task as user '" + child.user_description + "': " + err);
    case kFailGo:
      return FailedPrecondition(
          "sandbox setup failed: handing the task to its sandbox made ahead: " + err);
    case kFailHostname:
      return FailedPrecondition("sandbox setup failed: sethostname: " + err);
    case kFailLoopback:
      return FailedPrecondition("sandbox setup failed: bringing up loopback: " + err);
    case kFailPivot:
      return FailedPrecondition("sandbox setup failed: pivot_root: " + err);
    case kFailFork:
      return FailedPrecondition("sandbox setup failed: fork of the task: " + err);
    case kFailStdio:
      return FailedPrecondition("sandbox setup failed: connecting stdin/stdout/stderr: " + err);
    case kFailCgroup:
      return FailedPrecondition("sandbox setup failed: joining the task's cgroups (" +
                                child.cgroup_description + "): " + err);
    case kFailUserns:
      return FailedPrecondition("sandbox setup failed: joining the task's user namespace: " + err);
    case kFailNetns:
      return FailedPrecondition("sandbox setup failed: joining the task's network namespace: " +
                                err);
    case kFailCaps:
      return FailedPrecondition("sandbox setup failed: dropping capabilities: " + err);
    case kFailInit:
      return FailedPrecondition("sandbox setup failed: executing the sandbox's init: " + err);
    case kFailSharedRoot:
      return FailedPrecondition("sandbox setup failed: copying the worker's shared root: " + err);
    default:
      return Internal("sandbox child failed at an unknown point: " + err);
  }
}

}  // namespace baton::workers::sandbox
