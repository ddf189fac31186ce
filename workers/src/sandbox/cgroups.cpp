#include "baton/workers/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "sandbox/sys_util.h"

namespace baton::workers {
namespace {

// Controller (or "" for v2) -> this process's path in that hierarchy, from /proc/self/cgroup.
std::map<std::string, std::string> ReadSelfCgroups(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find(':');
    size_t b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    std::string group = line.substr(b + 1);
    if (controllers.empty()) {
      out[""] = group;
      continue;
    }
    std::istringstream items(controllers);
    std::string item;
    while (std::getline(items, item, ',')) out[item] = group;
  }
  return out;
}

std::string JoinGroup(const std::string& mount_point, const std::string& group) {
  if (group.empty() || group == "/") return mount_point;
  return mount_point + group;
}

// The directory of our own group for `controller` in a v1 hierarchy, if mounted and present.
std::string V1Dir(const std::vector<sys::MountEntry>& mounts,
                  const std::map<std::string, std::string>& self, const std::string& controller) {
  for (const auto& m : mounts) {
    if (m.fs_type != "cgroup" || !sys::HasCommaItem(m.super_options, controller)) continue;
    auto it = self.find(controller);
    std::string dir = JoinGroup(m.mount_point, it == self.end() ? "/" : it->second);
    if (sys::PathExists(dir)) return dir;
  }
  return {};
}

std::string Sanitize(const std::string& name) {
  std::string out;
  for (char c : name) {
    bool ok = isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  if (out.size() > 100) out.resize(100);
  static std::atomic<uint64_t> counter{0};
  return out + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

std::vector<pid_t> ReadPids(const std::string& file) {
  std::vector<pid_t> out;
  std::ifstream in(file);
  pid_t pid;
  while (in >> pid) out.push_back(pid);
  return out;
}

// The number after `key` in a "key value" per-line file (memory.oom_control, pids.events).
int64_t ReadKeyed(const std::string& file, const std::string& key) {
  std::istringstream in(sys::ReadSmallFile(file));
  std::string k;
  int64_t v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

}  // namespace

std::string CgroupSupport::Describe() const {
  std::string v1;
  if (!memory_dir.empty()) v1 += "memory,";
  if (!pids_dir.empty()) v1 += "pids,";
  if (!cpu_dir.empty()) v1 += "cpu,";
  std::string out;
  if (!v1.empty()) out = "v1 " + v1.substr(0, v1.size() - 1);
  if (!unified_dir.empty()) {
    if (!out.empty()) out += "; ";
    out += "v2 at " + unified_dir;
    std::string lim =
        std::string(v2_memory ? " memory" : "") + (v2_pids ? " pids" : "") + (v2_cpu ? " cpu" : "");
    out += lim.empty() ? " (tracking and kill only)" : " (limits:" + lim + ")";
  }
  return out.empty() ? "none" : out;
}

CgroupSupport DetectCgroups(const std::string& mountinfo_path,
                            const std::string& self_cgroup_path) {
  auto mounts = sys::ReadMountInfo(mountinfo_path);
  auto self = ReadSelfCgroups(self_cgroup_path);
  CgroupSupport s;
  s.memory_dir = V1Dir(mounts, self, "memory");
  s.pids_dir = V1Dir(mounts, self, "pids");
  s.cpu_dir = V1Dir(mounts, self, "cpu");
  for (const auto& m : mounts) {
    if (m.fs_type != "cgroup2") continue;
    auto it = self.find("");
    std::string dir = JoinGroup(m.mount_point, it == self.end() ? "/" : it->second);
    if (!sys::PathExists(dir)) continue;
    s.unified_dir = dir;
    std::string controllers = sys::ReadSmallFile(dir + "/cgroup.controllers");
    std::istringstream in(controllers);
    std::string c;
    while (in >> c) {
      if (c == "memory") s.v2_memory = s.memory_dir.empty();
      if (c == "pids") s.v2_pids = s.pids_dir.empty();
      if (c == "cpu") s.v2_cpu = s.cpu_dir.empty();
    }
    break;
  }
  return s;
}

Result<std::unique_ptr<TaskCgroup>> TaskCgroup::Create(const CgroupSupport& support,
                                                       const std::string& name,
                                                       const Limits& limits,
                                                       int64_t default_max_pids) {
  std::unique_ptr<TaskCgroup> cg(new TaskCgroup());
  std::string leaf = Sanitize(name);
  if (!support.memory_dir.empty()) {
    BATON_RETURN_IF_ERROR(cg->MakeDir(support.memory_dir, leaf, &cg->memory_));
  }
  if (!support.pids_dir.empty()) {
    BATON_RETURN_IF_ERROR(cg->MakeDir(support.pids_dir, leaf, &cg->pids_));
  }
  if (!support.cpu_dir.empty())
    BATON_RETURN_IF_ERROR(cg->MakeDir(support.cpu_dir, leaf, &cg->cpu_));
  if (!support.unified_dir.empty()) {
    if (support.v2_memory || support.v2_pids || support.v2_cpu) {
      std::string base = support.unified_dir + "/baton";
      ::mkdir(base.c_str(), 0755);
      std::string enable = std::string(support.v2_memory ? "+memory " : "") +
                           (support.v2_pids ? "+pids " : "") + (support.v2_cpu ? "+cpu" : "");
      (void)sys::WriteSmallFile(support.unified_dir + "/cgroup.subtree_control", enable);
      (void)sys::WriteSmallFile(base + "/cgroup.subtree_control", enable);
    }
    BATON_RETURN_IF_ERROR(cg->MakeDir(support.unified_dir, leaf, &cg->unified_));
  }
  BATON_RETURN_IF_ERROR(cg->ApplyLimits(support, limits, default_max_pids));
  return cg;
}

Status TaskCgroup::MakeDir(const std::string& parent, const std::string& name, std::string* out) {
  std::string base = parent + "/baton";
  if (::mkdir(base.c_str(), 0755) != 0 && errno != EEXIST) {
    return sys::ErrnoStatus("creating cgroup " + base, errno);
  }
  std::string dir = base + "/" + name;
  if (::mkdir(dir.c_str(), 0755) != 0) return sys::ErrnoStatus("creating cgroup " + dir, errno);
  dirs_.push_back(dir);
  *out = dir;
  return Status::Ok();
}

Status TaskCgroup::ApplyLimits(const CgroupSupport& support, const Limits& limits,
                               int64_t default_pids) {
  int64_t max_pids = limits.max_pids.value_or(default_pids);
  if (!pids_.empty()) {
    BATON_RETURN_IF_ERROR(sys::WriteSmallFile(pids_ + "/pids.max", std::to_string(max_pids)));
  } else if (support.v2_pids) {
    BATON_RETURN_IF_ERROR(sys::WriteSmallFile(unified_ + "/pids.max", std::to_string(max_pids)));
  }
  if (limits.memory_bytes) {
    std::string bytes = std::to_string(*limits.memory_bytes);
    if (!memory_.empty()) {
      BATON_RETURN_IF_ERROR(sys::WriteSmallFile(memory_ + "/memory.limit_in_bytes", bytes));
      std::string memsw = memory_ + "/memory.memsw.limit_in_bytes";
      if (sys::PathExists(memsw)) BATON_RETURN_IF_ERROR(sys::WriteSmallFile(memsw, bytes));
    } else if (support.v2_memory) {
      BATON_RETURN_IF_ERROR(sys::WriteSmallFile(unified_ + "/memory.max", bytes));
      (void)sys::WriteSmallFile(unified_ + "/memory.swap.max", "0");
    } else {
      return FailedPrecondition("a memory limit was requested but no memory cgroup is available");
    }
  }
  if (limits.cpu_shares) {
    int64_t shares = std::max<int64_t>(2, *limits.cpu_shares);
    if (!cpu_.empty()) {
      BATON_RETURN_IF_ERROR(sys::WriteSmallFile(cpu_ + "/cpu.shares", std::to_string(shares)));
    } else if (support.v2_cpu) {
      // cpu.weight is 1..10000 with 100 the default; shares 1024 is the default in v1.
      int64_t weight = std::clamp<int64_t>(1 + ((shares - 2) * 9999) / 262142, 1, 10000);
      BATON_RETURN_IF_ERROR(sys::WriteSmallFile(unified_ + "/cpu.weight", std::to_string(weight)));
    }
  }
  return Status::Ok();
}

Status TaskCgroup::AddProcess(pid_t pid) {
  std::string p = std::to_string(pid);
  for (const auto& dir : dirs_) {
    BATON_RETURN_IF_ERROR(sys::WriteSmallFile(dir + "/cgroup.procs", p));
  }
  return Status::Ok();
}

CgroupEntry TaskCgroup::Entry() {
  CgroupEntry e;
  for (const std::string* dir : {&memory_, &pids_, &cpu_}) {
    if (!dir->empty()) e.v1_tasks.push_back(*dir + "/tasks");
  }
  if (unified_.empty()) return e;
  if (unified_fd_ < 0) unified_fd_ = ::open(unified_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  e.unified_fd = unified_fd_;
  e.unified_procs = unified_ + "/cgroup.procs";
  return e;
}

std::vector<pid_t> TaskCgroup::Processes() const {
  if (!unified_.empty()) return ReadPids(unified_ + "/cgroup.procs");
  if (!pids_.empty()) return ReadPids(pids_ + "/cgroup.procs");
  if (!memory_.empty()) return ReadPids(memory_ + "/cgroup.procs");
  return {};
}

void TaskCgroup::SignalAll(int sig) const {
  for (pid_t pid : Processes()) ::kill(pid, sig);
}

void TaskCgroup::KillAll() const {
  if (!unified_.empty() && sys::WriteSmallFile(unified_ + "/cgroup.kill", "1").ok()) return;
  // No cgroup.kill: repeat, since processes may fork while we kill (pids.max bounds this).
  for (int round = 0; round < 10; ++round) {
    auto pids = Processes();
    if (pids.empty()) return;
    for (pid_t pid : pids) ::kill(pid, SIGKILL);
  }
}

bool TaskCgroup::OomKilled() const {
  if (!memory_.empty()) return ReadKeyed(memory_ + "/memory.oom_control", "oom_kill") > 0;
  if (!unified_.empty()) return ReadKeyed(unified_ + "/memory.events", "oom_kill") > 0;
  return false;
}

bool TaskCgroup::HitPidsLimit() const {
  if (!pids_.empty()) return ReadKeyed(pids_ + "/pids.events", "max") > 0;
  if (!unified_.empty()) return ReadKeyed(unified_ + "/pids.events", "max") > 0;
  return false;
}

void TaskCgroup::Remove() {
  // A killed process leaves its cgroup only once the kernel has torn it down; rmdir says EBUSY
  // until then. Give it a bounded time.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    while (::rmdir(it->c_str()) != 0 && errno == EBUSY &&
           std::chrono::steady_clock::now() < deadline) {
      KillAll();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

TaskCgroup::~TaskCgroup() {
  if (unified_fd_ >= 0) ::close(unified_fd_);
  if (!Processes().empty()) KillAll();
  Remove();
}

}  // namespace baton::workers
