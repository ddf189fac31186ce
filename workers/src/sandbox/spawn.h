// Starting a prepared child (child_plan.h), for the namespace sandbox and the unsandboxed
// launcher alike: cloned straight into the task's v2 cgroup where the kernel can (clone3 with
// CLONE_INTO_CGROUP; a move by pid instead waits for an RCU grace period, 7-15 ms on these
// machines), sharing the worker's memory when it becomes the sandbox's small init at once,
// otherwise a copy that waits until the caller has placed it (`before_start`).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>

#include "baton/common/status.h"
#include "baton/workers/cgroups.h"
#include "baton/workers/sandbox.h"
#include "sandbox/child_plan.h"

namespace baton::workers::sandbox {

// Clones `child` with the namespace `flags`, calls `before_start` with its pid, then lets it go.
// The process once the child has executed the task (or the sandbox's init); an error with the
// plan's own description (DescribeChildError) when it failed before.
Result<std::unique_ptr<SandboxedProcess>> Spawn(PreparedChild& child, int flags,
                                                const SandboxStdio& stdio,
                                                const CgroupEntry& cgroups,
                                                const std::function<Status(pid_t)>& before_start);

// Adds the v1 groups of `cgroups` to `child`'s plan (cgroup_tasks, their open files, -1 for one
// opened by path) and to its description.
void AddCgroupEntry(const CgroupEntry& cgroups, PreparedChild& child);

// Reads a ChildError from the error pipe `fd` if the child (or its task) reported one before the
// pipe's last write end closed (at their exec, or exit). False when it closed without one.
bool ReadChildError(int fd, ChildError* e);

// Clones the init of a spare sandbox (spare_sandbox.h) for `plan` (RunSpareChild) with the
// namespace `flags`, sharing the worker's memory as Spawn's inits do. Writes its pid to `*pid` at
// once, for other threads; returns (the pid, or -1 with errno) only once the init has executed
// its task's small init or exited: this thread waits meanwhile, so it is a thread of its own.
pid_t CloneSpare(ChildPlan& plan, int flags, pid_t* pid);

// Clones the start-up probe (RunProbeChild) for `plan` in a PID namespace of its own, sharing the
// worker's memory; returns (its pid, or -1 with errno) once it has executed the small init or
// exited.
pid_t CloneProbe(ChildPlan& plan);

}  // namespace baton::workers::sandbox
