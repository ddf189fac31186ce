// A task's process together with something that must outlive the task and no more: its network
// stack, its image's writable layer. What is held goes once the task has been waited for, or
// after the process when both are dropped (a dropped process is killed first).
#pragma once

#include <memory>
#include <utility>

#include "baton/workers/sandbox.h"

namespace baton::workers::sandbox {

template <typename Held>
class HeldProcess : public SandboxedProcess {
 public:
  HeldProcess(std::unique_ptr<SandboxedProcess> process, std::unique_ptr<Held> held)
      : process_(std::move(process)), held_(std::move(held)) {}
  ~HeldProcess() override {
    process_.reset();  // the task first: what it held only goes once nothing uses it
    held_.reset();
  }
  pid_t pid() const override { return process_->pid(); }
  int exit_fd() const override { return process_->exit_fd(); }
  void Signal(int sig) override { process_->Signal(sig); }
  int Wait() override {
    int code = process_->Wait();
    held_.reset();  // the task and everything in its namespaces have exited
    return code;
  }

 private:
  std::unique_ptr<SandboxedProcess> process_;
  std::unique_ptr<Held> held_;
};

// `process`, releasing `held` once the task has exited.
template <typename Held>
std::unique_ptr<SandboxedProcess> HoldUntilExit(std::unique_ptr<SandboxedProcess> process,
                                                std::unique_ptr<Held> held) {
  return std::make_unique<HeldProcess<Held>>(std::move(process), std::move(held));
}

}  // namespace baton::workers::sandbox
