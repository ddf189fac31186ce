#include "baton/workers/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
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

// One number a line (cgroup.procs). Parsed without a stream: a task's end reads it at least once.
std::vector<pid_t> ReadPids(const std::string& file) {
  std::vector<pid_t> out;
  std::string text = sys::ReadSmallFile(file);
  const char* at = text.data();
  const char* end = at + text.size();
  while (at < end) {
    pid_t pid = 0;
    auto [next, error] = std::from_chars(at, end, pid);
    if (error != std::errc()) break;
    out.push_back(pid);
    at = next;
    while (at < end && (*at == '\n' || *at == ' ')) ++at;
  }
  return out;
}

// The number after `key` in a "key value" per-line file (memory.oom_control, pids.events).
int64_t ReadKeyed(const std::string& file, std::string_view key) {
  std::string text = sys::ReadSmallFile(file);
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ') {
      continue;
    }
    int64_t v = 0;
    std::from_chars(line.data() + key.size() + 1, line.data() + line.size(), v);
    return v;
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

void RemoveAbandonedGroups(const CgroupSupport& support) {
  for (const std::string* dir :
       {&support.unified_dir, &support.cpu_dir, &support.pids_dir, &support.memory_dir}) {
    if (dir->empty()) continue;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(*dir + "/baton", ec)) {
      // Sanitize's "-<pid>-<counter>" ending; rmdir leaves a group with processes be.
      std::string name = entry.path().filename().string();
      size_t last = name.rfind('-');
      size_t before =
          last == std::string::npos || last == 0 ? std::string::npos : name.rfind('-', last - 1);
      if (before == std::string::npos) continue;
      pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + before + 1));
      if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
      ::rmdir(entry.path().c_str());
    }
  }
}

Result<std::unique_ptr<TaskCgroup>> TaskCgroup::Create(const CgroupSupport& support,
                                                       const std::string& name,
                                                       const Limits& limits,
                                                       int64_t default_max_pids) {
  std::unique_ptr<TaskCgroup> cg(new TaskCgroup());
  // Groups without memory or cpu limits are all alike but for pids.max: any idle one will do.
  bool pooled = support.pool && !limits.memory_bytes && !limits.cpu_shares;
  if (pooled) {
    cg->pool_ = support.pool;
    while (std::optional<CgroupDirs> idle = support.pool->Take()) {
      cg->g_ = std::move(*idle);
      bool whole = true;
      for (const std::string& dir : cg->dirs()) whole = whole && ::access(dir.c_str(), F_OK) == 0;
      // A group removed behind the pool's back (by hand, or another worker's start taking it
      // for abandoned) would fail the task's clone: it is dropped and the next one tried.
      if (whole && cg->SetPidsMax(support, limits.max_pids.value_or(default_max_pids)).ok()) {
        return cg;
      }
      cg->g_.CloseFds();
      cg->Remove();
      cg->g_ = CgroupDirs{};
    }
  }
  // A pooled group serves many tasks: it is named for none of them.
  std::string leaf = Sanitize(pooled ? "pooled" : name);
  if (!support.memory_dir.empty()) {
    BATON_RETURN_IF_ERROR(cg->MakeDir(support.memory_dir, leaf, &cg->g_.memory));
  }
  if (!support.pids_dir.empty()) {
    BATON_RETURN_IF_ERROR(cg->MakeDir(support.pids_dir, leaf, &cg->g_.pids));
  }
  if (!support.cpu_dir.empty())
    BATON_RETURN_IF_ERROR(cg->MakeDir(support.cpu_dir, leaf, &cg->g_.cpu));
  if (!support.unified_dir.empty()) {
    if (support.v2_memory || support.v2_pids || support.v2_cpu) {
      std::string base = support.unified_dir + "/baton";
      ::mkdir(base.c_str(), 0755);
      std::string enable = std::string(support.v2_memory ? "+memory " : "") +
                           (support.v2_pids ? "+pids " : "") + (support.v2_cpu ? "+cpu" : "");
      (void)sys::WriteSmallFile(support.unified_dir + "/cgroup.subtree_control", enable);
      (void)sys::WriteSmallFile(base + "/cgroup.subtree_control", enable);
    }
    BATON_RETURN_IF_ERROR(cg->MakeDir(support.unified_dir, leaf, &cg->g_.unified));
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
  *out = dir;
  return Status::Ok();
}

Status TaskCgroup::SetPidsMax(const CgroupSupport& support, int64_t max_pids) {
  if (max_pids == g_.pids_max) return Status::Ok();  // a pooled group's last task had the same
  std::string dir = !g_.pids.empty() ? g_.pids : support.v2_pids ? g_.unified : "";
  if (dir.empty()) return Status::Ok();
  BATON_RETURN_IF_ERROR(sys::WriteSmallFile(dir + "/pids.max", std::to_string(max_pids)));
  g_.pids_max = max_pids;
  return Status::Ok();
}

Status TaskCgroup::ApplyLimits(const CgroupSupport& support, const Limits& limits,
                               int64_t default_pids) {
  BATON_RETURN_IF_ERROR(SetPidsMax(support, limits.max_pids.value_or(default_pids)));
  if (limits.memory_bytes) {
    std::string bytes = std::to_string(*limits.memory_bytes);
    if (!g_.memory.empty()) {
      BATON_RETURN_IF_ERROR(sys::WriteSmallFile(g_.memory + "/memory.limit_in_bytes", bytes));
      std::string memsw = g_.memory + "/memory.memsw.limit_in_bytes";
      if (sys::PathExists(memsw)) BATON_RETURN_IF_ERROR(sys::WriteSmallFile(memsw, bytes));
    } else if (support.v2_memory) {
      BATON_RETURN_IF_ERROR(sys::WriteSmallFile(g_.unified + "/memory.max", bytes));
      (void)sys::WriteSmallFile(g_.unified + "/memory.swap.max", "0");
    } else {
      return FailedPrecondition("a memory limit was requested but no memory cgroup is available");
    }
  }
  if (limits.cpu_shares) {
    int64_t shares = std::max<int64_t>(2, *limits.cpu_shares);
    if (!g_.cpu.empty()) {
      BATON_RETURN_IF_ERROR(sys::WriteSmallFile(g_.cpu + "/cpu.shares", std::to_string(shares)));
    } else if (support.v2_cpu) {
      // cpu.weight is 1..10000 with 100 the default; shares 1024 is the default in v1.
      int64_t weight = std::clamp<int64_t>(1 + ((shares - 2) * 9999) / 262142, 1, 10000);
      BATON_RETURN_IF_ERROR(
          sys::WriteSmallFile(g_.unified + "/cpu.weight", std::to_string(weight)));
    }
  }
  return Status::Ok();
}

Status TaskCgroup::AddProcess(pid_t pid) {
  std::string p = std::to_string(pid);
  for (const auto& dir : dirs()) {
    BATON_RETURN_IF_ERROR(sys::WriteSmallFile(dir + "/cgroup.procs", p));
  }
  return Status::Ok();
}

void CgroupDirs::CloseFds() {
  if (unified_fd >= 0) ::close(unified_fd);
  unified_fd = -1;
  for (int fd : tasks_fds) {
    if (fd >= 0) ::close(fd);
  }
  tasks_fds.clear();
}

CgroupEntry TaskCgroup::Entry() {
  CgroupEntry e;
  for (const std::string* dir : {&g_.memory, &g_.pids, &g_.cpu}) {
    if (!dir->empty()) e.v1_tasks.push_back(*dir + "/tasks");
  }
  // Opened once for the group's life (a pooled group's spans many tasks): each start then writes
  // to them without the path walk (~6 us a file here). -1: the child opens the path.
  if (g_.tasks_fds.empty()) {
    for (const std::string& tasks : e.v1_tasks) {
      g_.tasks_fds.push_back(::open(tasks.c_str(), O_WRONLY | O_CLOEXEC));
    }
  }
  e.v1_tasks_fds = g_.tasks_fds;
  if (g_.unified.empty()) return e;
  if (g_.unified_fd < 0) {
    g_.unified_fd = ::open(g_.unified.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  e.unified_fd = g_.unified_fd;
  e.unified_procs = g_.unified + "/cgroup.procs";
  return e;
}

std::vector<pid_t> TaskCgroup::Processes() const {
  if (!g_.unified.empty()) return ReadPids(g_.unified + "/cgroup.procs");
  if (!g_.pids.empty()) return ReadPids(g_.pids + "/cgroup.procs");
  if (!g_.memory.empty()) return ReadPids(g_.memory + "/cgroup.procs");
  return {};
}

void TaskCgroup::SignalAll(int sig) const {
  for (pid_t pid : Processes()) ::kill(pid, sig);
}

void TaskCgroup::KillAll() const {
  // Nothing inside: nothing to kill, and the group stays fit for another task (on this VM's 6.18
  // kernel a v2 group once killed through cgroup.kill kills each process cloned into it later).
  if (Processes().empty()) return;
  killed_ = true;
  if (!g_.unified.empty() && sys::WriteSmallFile(g_.unified + "/cgroup.kill", "1").ok()) return;
  // No cgroup.kill: repeat, since processes may fork while we kill (pids.max bounds this).
  for (int round = 0; round < 10; ++round) {
    auto pids = Processes();
    if (pids.empty()) return;
    for (pid_t pid : pids) ::kill(pid, SIGKILL);
  }
}

bool TaskCgroup::OomKilled() const {
  if (!g_.memory.empty()) return ReadKeyed(g_.memory + "/memory.oom_control", "oom_kill") > 0;
  if (!g_.unified.empty()) return ReadKeyed(g_.unified + "/memory.events", "oom_kill") > 0;
  return false;
}

bool TaskCgroup::HitPidsLimit() const {
  if (!g_.pids.empty()) return ReadKeyed(g_.pids + "/pids.events", "max") > 0;
  if (!g_.unified.empty()) return ReadKeyed(g_.unified + "/pids.events", "max") > 0;
  return false;
}

bool TaskCgroup::Reusable() const {
  // v2's `populated` also counts processes still exiting, which cgroup.procs no longer lists.
  bool empty = !g_.unified.empty() ? ReadKeyed(g_.unified + "/cgroup.events", "populated") == 0
                                   : Processes().empty();
  return empty && !killed_ && !OomKilled() && !HitPidsLimit();
}

void TaskCgroup::Remove() {
  // A killed process leaves its cgroup only once the kernel has torn it down; rmdir says EBUSY
  // until then. Give it a bounded time.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<std::string> made = dirs();
  for (auto it = made.rbegin(); it != made.rend(); ++it) {
    while (::rmdir(it->c_str()) != 0 && errno == EBUSY &&
           std::chrono::steady_clock::now() < deadline) {
      KillAll();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

TaskCgroup::~TaskCgroup() {
  if (pool_ && Reusable() && pool_->Give(g_)) return;
  g_.CloseFds();
  if (!Processes().empty()) KillAll();
  Remove();
}

CgroupPool::~CgroupPool() {
  for (CgroupDirs& g : idle_) {
    g.CloseFds();
    std::vector<std::string> made = g.paths();
    for (auto it = made.rbegin(); it != made.rend(); ++it) {
      ::rmdir(it->c_str());  // empty: nothing ran in it since its task
    }
  }
}

size_t CgroupPool::idle() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

std::optional<CgroupDirs> CgroupPool::Take() {
  std::lock_guard lock(mu_);
  if (idle_.empty()) return std::nullopt;
  CgroupDirs g = std::move(idle_.back());
  idle_.pop_back();
  return g;
}

bool CgroupPool::Give(CgroupDirs& dirs) {
  std::lock_guard lock(mu_);
  if (idle_.size() >= max_idle_) return false;
  idle_.push_back(std::move(dirs));
  return true;
}

}  // namespace baton::workers
