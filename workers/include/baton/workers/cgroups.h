// Control groups for one task: limits (memory, pids, cpu) through cgroup v1 controllers where
// the kernel has them, and a cgroup v2 group for tracking and killing the whole process tree.
//
// Machines differ: pure v1, hybrid (v1 controllers + v2 at /sys/fs/cgroup/unified), or pure v2.
// DetectCgroups() reads /proc/self/mountinfo and /proc/self/cgroup once; TaskCgroup then
// creates per-task groups nested under this process's own groups ("<own>/baton/<name>"), so an
// outer supervisor's accounting still covers tasks.
//
// With a CgroupPool, a task's emptied groups are kept for the next task instead of being removed.
//
// Thread-safety: CgroupSupport is an immutable value (its pool is thread-safe). A TaskCgroup is
// used by one thread at a time, except KillAll() and Processes(), which may be called from any
// thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/worker.h"

namespace baton::workers {

class CgroupPool;

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
  // Where tasks without memory or cpu limits take their groups from and return them to; null:
  // each task's groups are made for it and removed after it.
  std::shared_ptr<CgroupPool> pool;

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

// Removes the empty task groups ("<name>-<pid>-<n>") that processes no longer running left
// beneath this process's groups: a worker killed with idle groups in its pool, or during a task.
// A group of a process in another pid namespace would look abandoned too: tasks' groups are
// assumed to be this namespace's.
void RemoveAbandonedGroups(const CgroupSupport& support);

// How a new process enters a task's groups by itself, at birth: cloned straight into the v2
// group (clone3 with CLONE_INTO_CGROUP) and writing "0" (itself, one thread) to each v1 group's
// `tasks` file. Moving a running process from outside (AddProcess, cgroup.procs) takes the
// kernel's global cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period:
// 4-20 ms per task on a busy machine, against ~0.1 ms this way.
struct CgroupEntry {
  int unified_fd = -1;                // the v2 group's directory (owned by the TaskCgroup)
  std::string unified_procs;          // its cgroup.procs, if clone3 cannot clone into it
  std::vector<std::string> v1_tasks;  // each v1 group's `tasks` file
  // Those files open for writing (owned by the TaskCgroup), by index; missing or -1: opened by
  // path. A pooled group's stay open from task to task: the child writes without a path walk.
  std::vector<int> v1_tasks_fds;
  bool empty() const { return unified_fd < 0 && unified_procs.empty() && v1_tasks.empty(); }
};

// A task's groups, one per hierarchy (empty paths: not there).
struct CgroupDirs {
  std::string memory, pids, cpu, unified;
  int unified_fd = -1;         // opened by TaskCgroup::Entry()
  std::vector<int> tasks_fds;  // the v1 groups' `tasks` files, opened by TaskCgroup::Entry()
  int64_t pids_max = -1;       // what pids.max holds

  // The directories there are, in the order they are made: memory, pids, cpu, unified.
  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (const std::string* dir : {&memory, &pids, &cpu, &unified}) {
      if (!dir->empty()) out.push_back(*dir);
    }
    return out;
  }
  // Closes the descriptors Entry() opened (before the directories are removed).
  void CloseFds();
};

// Groups emptied by their task, kept for the next task: making a task's groups (a mkdir in each
// of up to four hierarchies, pids.max) and removing them after it cost ~0.4 ms of each task's
// start and end here, against a few reads to give one back. Only groups whose task had no memory
// or cpu limit come here, and only if empty, with no OOM kill and no fork refused by pids.max in
// them, and never killed by KillAll (which leaves an empty group be): so what a later task reads
// of them (OomKilled, HitPidsLimit) is its own, and nothing kills it at birth (a v2 group killed
// through cgroup.kill kills each process cloned into it later, here on kernel 6.18).
// The pool holds at most `max_idle` groups; the destructor removes them.
//
// Thread-safe.
class CgroupPool {
 public:
  explicit CgroupPool(size_t max_idle = 16) : max_idle_(max_idle) {}
  ~CgroupPool();
  CgroupPool(const CgroupPool&) = delete;
  CgroupPool& operator=(const CgroupPool&) = delete;

  size_t idle() const;

 private:
  friend class TaskCgroup;
  // An idle group, if any.
  std::optional<CgroupDirs> Take();
  // Keeps `dirs`; false (and `dirs` untouched) when full.
  bool Give(CgroupDirs& dirs);

  const size_t max_idle_;
  mutable std::mutex mu_;
  std::vector<CgroupDirs> idle_;  // GUARDED_BY(mu_)
};

// The cgroups of one running task. Created before the task's first process starts (or taken from
// the support's pool); removed by the destructor after killing anything left inside, or given
// back to the pool.
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
  // Nothing when the group is empty.
  void KillAll() const;
  // True once the kernel's OOM killer killed a process of this group.
  bool OomKilled() const;
  // True if the pids limit refused a fork at least once.
  bool HitPidsLimit() const;
  // The group's directories, in the order they are made (CgroupDirs::paths).
  std::vector<std::string> dirs() const { return g_.paths(); }

 private:
  TaskCgroup() = default;
  Status MakeDir(const std::string& parent, const std::string& name, std::string* out);
  Status ApplyLimits(const CgroupSupport& support, const Limits& limits, int64_t default_pids);
  Status SetPidsMax(const CgroupSupport& support, int64_t max_pids);
  // Empty, and nothing in its counters that the next task would take for its own.
  bool Reusable() const;
  void Remove();

  CgroupDirs g_;
  std::shared_ptr<CgroupPool> pool_;         // where the groups go back to; null: removed
  mutable std::atomic<bool> killed_{false};  // KillAll found something to kill
};

}  // namespace baton::workers
