// HelperHost: starts and supervises the processes the worker runs on the host, outside any
// sandbox (a task's user-mode network stack), on an io_context thread of its own.
//
// Start() clones the helper on the calling thread the way posix_spawn does (CLONE_VM |
// CLONE_VFORK: no copy of the worker's address space); it dies with that thread
// (PR_SET_PDEATHSIG), so a caller's thread must outlive its helpers (the network pool's does: it
// ends only in the pool's destructor). Its exit is noticed through its pidfd on the io_context,
// which reaps it and wakes anyone in HelperProcess::WaitExited; no SIGCHLD handler is involved. A
// helper's stderr is read on the io_context too and kept (the first 4 KiB) for error messages.
//
// Thread-safety: HelperHost::Start and every HelperProcess method may be called from any thread.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "baton/common/status.h"

namespace boost::asio {
class io_context;
}

namespace baton::workers::sandbox {

// One helper process started by a HelperHost.
class HelperProcess {
 public:
  pid_t pid() const { return pid_; }
  // Waits until the helper has exited and was reaped, at most `timeout`. True if it has.
  bool WaitExited(std::chrono::milliseconds timeout);
  // Its exit code (or the number of the signal that killed it), once it has exited.
  std::optional<int> exit_status() const;
  // Whether it still runs: false as soon as it has exited, before its host has reaped it.
  bool running() const;
  // What it wrote to stderr so far (at most the first 4 KiB).
  std::string stderr_text() const;
  // Sends `sig` unless the helper was already reaped (its pid may be someone else's by then).
  void Signal(int sig);

 private:
  friend class HelperHost;
  explicit HelperProcess(pid_t pid) : pid_(pid) {}
  // Waits for the exited helper (by `pidfd`, or by pid if -1) and records its status.
  void Reap(int pidfd);
  void OnStderr(const char* data, size_t size);

  const pid_t pid_;
  mutable std::mutex mu_;
  std::condition_variable exited_cv_;
  std::optional<int> exit_status_;  // GUARDED_BY(mu_)
  std::string stderr_;              // GUARDED_BY(mu_)
};

class HelperHost {
 public:
  // What to run. `fds` are descriptors of the caller that the helper gets as 3, 4, ... (in this
  // order); nothing else of the worker's is inherited but stdin/stdout (/dev/null) and stderr.
  struct Spec {
    std::string exe;  // absolute path
    std::vector<std::string> args;
    std::vector<int> fds;
    // Runs in the started child before its descriptors are moved into place (the caller's
    // numbers hold) and before it execs: system calls only, as the child shares the worker's
    // memory, on a descriptor table of its own. Returns 0, or an errno that stops the start.
    // May be null.
    int (*before_exec)(const int* args) = nullptr;
    std::array<int, 2> before_exec_args{-1, -1};
  };

  HelperHost();
  // Kills the helpers still running (SIGKILL), waits for them and stops the thread.
  ~HelperHost();
  HelperHost(const HelperHost&) = delete;
  HelperHost& operator=(const HelperHost&) = delete;

  // Starts `spec` on the calling thread (the helper is killed when that thread ends) and returns
  // once it has exec'd, without waiting for the io thread; an error says what could not be
  // started and why.
  Result<std::shared_ptr<HelperProcess>> Start(const Spec& spec);

  // Lets `helper`, already told to stop (e.g. its exit pipe closed), exit on its own without
  // waiting for it, and kills it if it is still running after `grace`. Returns at once; the
  // destructor still kills and waits for it.
  void Retire(std::shared_ptr<HelperProcess> helper, std::chrono::milliseconds grace);

 private:
  // On the io thread: reaps `helper` through `pidfd` when it exits and reads its stderr.
  void Watch(const std::shared_ptr<HelperProcess>& helper, int pidfd, int stderr_read,
             const std::string& exe);

  std::unique_ptr<boost::asio::io_context> io_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::weak_ptr<HelperProcess>> helpers_;  // GUARDED_BY(mu_)
};

}  // namespace baton::workers::sandbox
