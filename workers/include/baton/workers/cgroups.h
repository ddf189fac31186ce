// Control groups for one task: limits (memory, pids, cpu) through cgroup v1 controllers where
// the kernel has them, and a cgroup v2 group for tracking and killing the whole process tree.
//
// Machines differ: pure v1, hybrid (v1 controllers + v2 at /sys/fs/cgroup/unified), or pure v2.
// DetectCgroups() reads /proc/self/mountinfo and /proc/self/cgroup once; TaskCgroup then
// creates per-task groups nested under this process's own groups ("<own>/baton/<name>"), so an
// outer supervisor's accounting still covers tasks.
//
// Thread-safety: CgroupSupport is an immutable value. A TaskCgroup is used by one thread at a
// time, except KillAll() and Processes(), which may be called from any thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/worker.h"

namespace baton::workers {

// What this machine offers. Empty paths mean "not available".
struct CgroupSupport {
  // Directories of this process's own cgroup in each hierarchy; task groups go beneath.
  std::string memory_dir;   // v1 memory controller
  std::string pids_dir;     // v1 pids controller
  std::string cpu_dir;      // v1 cpu controller
  std::string unified_dir;  // v2 hierarchy (tracking, cgroup.kill; limits if controllers enabled)
  bool v2_memory = false;   // v2 controllers usable for limits (pure v2 machines)
  bool v2_pids = false;
  bool v2_cpu = false;

  bool any() const {
    return !memory_dir.empty() || !pids_dir.empty() || !cpu_dir.empty() || !unified_dir.empty();
  }
  // One line for logs and `baton workers`: "v1 memory,pids,cpu; v2 tracking at /sys/...".
  std::string Describe() const;
};

// Reads the mount table and this process's cgroup membership. Never fails: missing pieces are
// left empty. Paths are overridable for tests.
CgroupSupport DetectCgroups(const std::string& mountinfo_path = "/proc/self/mountinfo",
                            const std::string& self_cgroup_path = "/proc/self/cgroup");

// How a new process enters a task's groups by itself, at birth: cloned straight into the v2
// group (clone3 with CLONE_INTO_CGROUP) and writing "0" (itself, one thread) to each v1 group's
// `tasks` file. Moving a running process from outside (AddProcess, cgroup.procs) takes the
// kernel's global cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period:
// 4-20 ms per task on a busy machine, against ~0.1 ms this way.
struct CgroupEntry {
  int unified_fd = -1;                // the v2 group's directory (owned by the TaskCgroup)
  std::string unified_procs;          // its cgroup.procs, if clone3 cannot clone into it
  std::vector<std::string> v1_tasks;  // each v1 group's `tasks` file
  bool empty() const { return unified_fd < 0 && unified_procs.empty() && v1_tasks.empty(); }
};

// The cgroups of one running task. Created before the task's first process starts; removed by
// the destructor (after killing anything left inside).
class TaskCgroup {
 public:
  // Creates groups named `name` (sanitised) with `limits`; `default_max_pids` applies when
  // limits.max_pids is unset. Fails if a requested limit cannot be applied.
  static Result<std::unique_ptr<TaskCgroup>> Create(const CgroupSupport& support,
                                                    const std::string& name, const Limits& limits,
                                                    int64_t default_max_pids);
  ~TaskCgroup();
  TaskCgroup(const TaskCgroup&) = delete;
  TaskCgroup& operator=(const TaskCgroup&) = delete;

  // Moves process `pid` (and its future children) into every group. Slow (see CgroupEntry);
  // prefer starting the process with Entry().
  Status AddProcess(pid_t pid);
  // How a process about to start joins every group by itself. Valid while this object lives.
  CgroupEntry Entry();
  // Pids currently in the group (from the v2 group, else the v1 pids/memory group).
  std::vector<pid_t> Processes() const;
  // Sends `sig` to every process in the group.
  void SignalAll(int sig) const;
  // Kills everything: cgroup.kill when the kernel has it, else SIGKILL to each listed pid.
  void KillAll() const;
  // True once the kernel's OOM killer killed a process of this group.
  bool OomKilled() const;
  // True if the pids limit refused a fork at least once.
  bool HitPidsLimit() const;
  // The directories created (for tests and diagnostics).
  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  TaskCgroup() = default;
  Status MakeDir(const std::string& parent, const std::string& name, std::string* out);
  Status ApplyLimits(const CgroupSupport& support, const Limits& limits, int64_t default_pids);
  void Remove();

  std::vector<std::string> dirs_;  // every group directory, for AddProcess and removal
  std::string memory_;
  std::string pids_;
  std::string cpu_;
  std::string unified_;
  int unified_fd_ = -1;  // opened by Entry()
};

}  // namespace baton::workers
