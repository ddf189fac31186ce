// NetworkShelf: task networks whose task has ended, kept for a later task of the same scope (the
// tasks of one pipeline) instead of making that task a new namespace and a new stack. Making a
// network and tearing it down (a new namespace, a slirp4netns started, configured, stopped, its
// namespace cleaned up by the kernel) was ~35 % of the CPU of a run of 200 one-command jobs
// (docs/benchmarks.md).
//
// A network goes on the shelf only when the next task cannot tell it from a new one
// (docs/security.md#network):
// - its task has exited and, with it, every process of its PID namespace (the caller puts a
//   network back only after the task's init was reaped: the kernel ends every process of a PID
//   namespace before its init's exit completes);
// - nothing is left in it: no socket of any family beyond the stack's own and no TCP connection
//   in TIME_WAIT (one would hold its port, an orphaned socket could still send data, a socket
//   handed to a process outside would still be reachable);
// - its stack still runs (a hermetic task's namespace has none);
// - the task could not change it: the caller gives no scope for a privileged task (the host's
//   root may reconfigure the namespace), and tasks of another scope never get it.
// At most `capacity` networks wait on the shelf (the oldest goes first), and none is given after
// waiting longer than `max_idle`: those are dropped whenever a network is taken or put back (no
// timer: a worker that runs no more tasks keeps them until its end).
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "sandbox/task_network.h"

namespace baton::workers::sandbox {

class NetworkShelf {
 public:
  NetworkShelf(size_t capacity, std::chrono::steady_clock::duration max_idle);
  NetworkShelf(const NetworkShelf&) = delete;
  NetworkShelf& operator=(const NetworkShelf&) = delete;

  // Whether `network`, whose task has exited, may serve a later task of `scope`: a scope, a
  // namespace, its stack up (if it has one) and nothing left in it (see above).
  static bool Reusable(const std::string& scope, const ReadyNetwork& network);

  // The network of `scope` put back most recently whose stack still runs, if any.
  std::optional<ReadyNetwork> Take(const std::string& scope);
  // Keeps `network`, whose task has exited and which Reusable(scope, network) said may serve a
  // later task of `scope`, for such a task (the caller checks it: reading the namespace's
  // sockets once per network).
  void Put(const std::string& scope, ReadyNetwork network);
  // Drops every network on the shelf; what is put back afterwards is dropped at once.
  void Close();

 private:
  struct Entry {
    std::string scope;
    ReadyNetwork network;
    std::chrono::steady_clock::time_point since;
  };
  // Moves the entries too old, or beyond `capacity`, or whose stack exited, to `out`.
  void PruneLocked(std::chrono::steady_clock::time_point now, std::deque<Entry>* out);

  const size_t capacity_;
  const std::chrono::steady_clock::duration max_idle_;
  std::mutex mu_;
  std::deque<Entry> entries_;  // GUARDED_BY(mu_); oldest first
  bool closed_ = false;        // GUARDED_BY(mu_)
};

}  // namespace baton::workers::sandbox
