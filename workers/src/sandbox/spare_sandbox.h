// SpareSandboxes: the sandbox of the next task, made ahead while the tasks before it run.
//
// Most of a sandbox does not depend on its task: a task on the host's root copies the shared root
// (shared_root.h) into a mount namespace of its own, gets a new /tmp, /dev/shm, /dev/pts and
// /proc, and is PID 1's child in new PID, IPC and UTS namespaces. A spare is all that, made on a
// thread of its own (on the CPU a task's run leaves idle) and waiting: its init (RunSpareChild)
// reports ready and waits on a socket. A task that takes it sends its own descriptors on that
// socket (stdio, its network's namespace, its v2 group, the trees of its work dir and volumes,
// cloned and idmapped by the worker in its own mount namespace as RunChild clones them), and the
// init binds them, joins the network, sets the hostname and starts the task as RunChild's init
// does: the same sandbox, built in the same order, but for the part made ahead (docs/security.md).
// The task is cloned into its group (clone3 CLONE_INTO_CGROUP); the init, made before the group
// was known, stays in the worker's.
//
// One spare at a time, on the shared root of a task with a network (Concourse's default); its
// thread makes the next once the last was taken (or dropped, when the root changed). Only tasks
// whose sandbox it fits take it (StartChild); any other builds its sandbox itself as before. A
// spare that fails to build stops the making of spares (the reason is kept for why_not()); the
// tasks then build theirs, which reports the same failure in the task's own terms.
//
// Thread-safety: Take may be called from several threads; one takes a given spare.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "baton/common/path_beneath.h"
#include "baton/common/status.h"
#include "baton/workers/cgroups.h"
#include "baton/workers/sandbox.h"
#include "sandbox/child_plan.h"

namespace baton::workers::sandbox {

class ChildProcess;

class SpareSandboxes {
 public:
  // The shared root a task with a network copies now; nullptr when there is none for now (none is
  // made until a task that started alone has ended), an error when there never will be (no
  // spares from then on: why_not).
  using RootSource = std::function<Result<std::shared_ptr<const ScopedFd>>()>;
  // `init_fd`: the small init (InitImage); `userns_fd`: the tasks' user namespace (TaskUsers).
  // Both stay open as long as this. `probe_first`: the worker's start-up probe (RunProbeChild) is
  // made before the first spare, which is not made if it fails (AwaitFirst).
  SpareSandboxes(RootSource root, int init_fd, int userns_fd, bool probe_first = false);
  // Drops the spare (its init exits) and waits for the thread.
  ~SpareSandboxes();
  SpareSandboxes(const SpareSandboxes&) = delete;
  SpareSandboxes& operator=(const SpareSandboxes&) = delete;

  // Starts making spares (the first at once). Idempotent.
  void Start();
  // Waits until the first spare is ready (with probe_first: its probe passed), or its making
  // failed (the error says why, as why_not() then does), or `timeout` passed.
  Status AwaitFirst(std::chrono::milliseconds timeout);
  // Stops making spares and drops the one waiting (a `baton run` whose builds are all done).
  void Stop();

  // A taken spare: its init waits for one task. Dropped unstarted, it is killed.
  class Spare {
   public:
    ~Spare();
    Spare(const Spare&) = delete;
    Spare& operator=(const Spare&) = delete;
    // Starts `child` in this spare: a task's plan whose steps are its binds only
    // (PrepareTaskBinds), made unprivileged (TaskUsers::Apply), with its hostname and network
    // (plan.netns_fd). `stdio`'s stdout and stderr are open; `cgroups` has no v1 group. As Spawn:
    // the process once the task has started, or the failure in the plan's terms.
    Result<std::unique_ptr<SandboxedProcess>> Start(PreparedChild& child, const SandboxStdio& stdio,
                                                    const CgroupEntry& cgroups);

   private:
    friend class SpareSandboxes;
    struct State;
    Spare(std::shared_ptr<State> state, ScopedFd errors, std::unique_ptr<ChildProcess> process);
    std::shared_ptr<State> state_;
    ScopedFd errors_;  // read end of the task's error pipe (the init's own)
    std::unique_ptr<ChildProcess> process_;
  };

  // The spare made on `root` if it is ready, or nullptr: none (not started, still being made,
  // made on another root, stopped, or failed). Never waits.
  std::unique_ptr<Spare> Take(const std::shared_ptr<const ScopedFd>& root);

  // A task of this sandbox, counted from before its start (in a spare or not) until the token
  // goes (with the task's process): a spare is made only while a CPU is left for the worker
  // beside the running tasks (see WantsSpare), so that making one never competes with tasks for
  // a CPU (made beside tasks on every CPU, a spare only moves the work and adds its hand-over).
  // The token holds `spares` weakly: it may outlive them.
  class RunningTask {
   public:
    explicit RunningTask(std::weak_ptr<SpareSandboxes> spares) : spares_(std::move(spares)) {}
    ~RunningTask();
    RunningTask(const RunningTask&) = delete;
    RunningTask& operator=(const RunningTask&) = delete;

   private:
    std::weak_ptr<SpareSandboxes> spares_;
  };
  static std::unique_ptr<RunningTask> Count(const std::shared_ptr<SpareSandboxes>& spares);

  // Whether `run` with `stdio` and `cgroups` fits a spare (see Spare::Start).
  static bool Fits(const TaskRun& run, const SandboxStdio& stdio, const CgroupEntry& cgroups);

  // Why spares are not made (any more); empty while they are, or were never started.
  std::string why_not() const;

 private:
  void TaskStarted();
  void TaskEnded();
  void Run();
  // Whether the thread should make a spare now: none is waiting, none failed, a CPU is left
  // beside the running tasks for the worker itself (with two CPUs: no task runs), and the last
  // task started alone (tasks follow one another, as a chain of jobs does). Where tasks run side
  // by side the CPUs are busy anyway: a spare made between them only moved the work and added
  // its hand-over (W3, 200 tasks two at a time: 1.03).
  bool WantsSpare() const;  // REQUIRES: mu_ held
  // Makes one spare and waits (the clone, CLONE_VFORK) until it is used or has exited.
  void MakeOne();
  // The worker's start-up probe, before its first spare (RunProbeChild): an error if it failed.
  static Status Probe(PreparedChild& child);

  const RootSource root_;
  const int init_fd_;
  const int userns_fd_;
  bool probe_first_;     // GUARDED_BY(mu_): the next spare made is the first (it probes)
  bool missed_ = false;  // GUARDED_BY(mu_): one was to be made and none was (no root for now)
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable made_;           // a spare was cloned (current_ set) or making failed
  const size_t cpus_;                      // that this process may run on
  bool last_started_alone_ = true;         // GUARDED_BY(mu_): no other task ran at its start
  size_t running_ = 0;                     // GUARDED_BY(mu_): tasks started and not ended
  bool started_ = false;                   // GUARDED_BY(mu_)
  bool stopping_ = false;                  // GUARDED_BY(mu_)
  std::string why_not_;                    // GUARDED_BY(mu_): set once making failed
  std::shared_ptr<Spare::State> current_;  // GUARDED_BY(mu_): made or being made, not taken
  std::thread thread_;
};

}  // namespace baton::workers::sandbox
