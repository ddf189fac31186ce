// The launcher of --unsafe-no-sandbox: the task as a plain host process in its own process group,
// born in its cgroups (Spawn, spawn.h: clone3 into the v2 group; it writes "0" to each v1 group's
// `tasks` before it runs anything of its own), with nothing isolated.
#include <filesystem>

#include "baton/workers/sandbox.h"
#include "sandbox/child_plan.h"
#include "sandbox/spawn.h"
#include "sandbox/sys_util.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;

class UnsandboxedLauncher : public Sandbox {
 public:
  IsolationLevel isolation() const override { return IsolationLevel::kNone; }

  Result<std::unique_ptr<SandboxedProcess>> StartInCgroups(
      const TaskRun& original, const SandboxStdio& stdio, const CgroupEntry& cgroups,
      const std::function<Status(pid_t)>& before_start) override {
    TaskRun run = original;
    if (run.work_dir.empty()) return InvalidArgument("task has no work dir");
    // Paths the task was told about (under the work mount) are the work dir itself here.
    std::string mount = WorkMountFor(run);
    if (sys::IsSameOrUnder(run.dir, mount)) run.dir = run.work_dir + run.dir.substr(mount.size());
    BATON_RETURN_IF_ERROR(LinkVolumes(run));
    auto child = std::make_unique<sandbox::PreparedChild>();
    child->plan.sandboxed = false;
    BATON_RETURN_IF_ERROR(sandbox::PrepareTask(run, run.work_dir, "/", child.get()));
    return sandbox::Spawn(*child, 0, stdio, cgroups, before_start);
  }

 private:
  // Without mounts, volumes under the work dir become symlinks.
  static Status LinkVolumes(const TaskRun& run) {
    for (const auto& m : run.mounts) {
      if (!m.sandbox_path.empty() && m.sandbox_path[0] == '/') {
        return FailedPrecondition("volume " + m.host_path + " needs a mount at " + m.sandbox_path +
                                  ", which is impossible without a sandbox");
      }
      fs::path link = fs::path(run.work_dir) / m.sandbox_path;
      std::error_code ec;
      if (fs::exists(fs::symlink_status(link, ec))) continue;
      fs::create_directories(link.parent_path(), ec);
      fs::create_symlink(m.host_path, link, ec);
      if (ec) return IoError("linking volume " + link.string() + ": " + ec.message());
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Sandbox> MakeUnsandboxedLauncher() {
  return std::make_unique<UnsandboxedLauncher>();
}

}  // namespace baton::workers
