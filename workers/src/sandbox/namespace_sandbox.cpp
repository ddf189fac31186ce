// NamespaceSandbox: a task's ChildPlan with its namespaces, mounts and user, started by Spawn
// (spawn.h).
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "baton/common/logging.h"
#include "baton/workers/sandbox.h"
#include "sandbox/child_plan.h"
#include "sandbox/child_process.h"
#include "sandbox/held_process.h"
#include "sandbox/image_layer.h"
#include "sandbox/init_image.h"
#include "sandbox/mask_cache.h"
#include "sandbox/shared_root.h"
#include "sandbox/spare_sandbox.h"
#include "sandbox/spawn.h"
#include "sandbox/sys_util.h"
#include "sandbox/task_network.h"
#include "sandbox/user_namespace.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using sandbox::ChildError;
using sandbox::PreparedChild;
using sandbox::Spawn;

// How long the worker's start waits for its first spare and its probe (FirstSpareProbed), before
// it probes on its own: far longer than the ~1 ms it takes here, short of hanging a start.
constexpr auto kFirstSpareTimeout = std::chrono::seconds(10);

std::string DefaultHostname(const std::string& id) {
  std::string out;
  for (char c : id) out += isalnum(static_cast<unsigned char>(c)) ? c : '-';
  if (out.size() > 63) out.resize(63);
  return out.empty() ? "baton" : out;
}

class NamespaceSandbox : public Sandbox {
 public:
  explicit NamespaceSandbox(SandboxOptions options)
      : options_(std::move(options)),
        masks_(options_),
        // First, before the directories below: the first network is the longest to get ready
        // (its pool's thread needs none of them).
        networks_(options_.state_dir, options_.prepare_networks, options_.networks_ahead),
        new_root_(MakeRoot(options_)),
        layers_dir_(options_.state_dir + "/layers"),
        shared_roots_(new_root_, ProbeRoot()),
        users_(options_, new_root_),
        init_(sandbox::InitImage::Load()) {}
  IsolationLevel isolation() const override { return IsolationLevel::kNamespaces; }

  Result<std::unique_ptr<SandboxedProcess>> StartInCgroups(
      const TaskRun& run, const SandboxStdio& stdio, const CgroupEntry& cgroups,
      const std::function<Status(pid_t)>& before_start) override {
    bool layered = run.rootfs.kind == RootfsSpec::Kind::kDirectory && ImageLayers().ok();
    if (!spares_) return StartChild(run, stdio, cgroups, before_start, /*probe=*/false, layered);
    // Counted while it runs, from before its start: the spares' thread, let go once a spare's
    // task has started, decides on the next spare at once (spare_sandbox.h).
    auto running = sandbox::SpareSandboxes::Count(spares_);
    auto started = StartChild(run, stdio, cgroups, before_start, /*probe=*/false, layered);
    if (!started.ok()) return started.status();  // `running` ends it
    return sandbox::HoldUntilExit(std::move(*started), std::move(running));
  }

  // `layered`: a rootfs directory gets a writable layer (see image_layer.h).
  // `probe_netns`: for the start-up probe (hermetic), a network namespace to join instead of a
  // new one (TaskNetworks::TakeProbeNamespace); -1: none.
  Result<std::unique_ptr<SandboxedProcess>> StartChild(
      const TaskRun& run, const SandboxStdio& stdio, const CgroupEntry& cgroups,
      const std::function<Status(pid_t)>& before_start, bool probe, bool layered,
      int probe_netns = -1) {
    auto child = std::make_unique<PreparedChild>();
    child->plan.sandboxed = true;
    child->plan.probe_only = probe;
    child->plan.init_fd = init_.fd();
    std::string work_mount = WorkMountFor(run);
    bool host = run.rootfs.kind == RootfsSpec::Kind::kHost;
    BATON_RETURN_IF_ERROR(
        sandbox::PrepareTask(run, work_mount, host ? "/" : run.rootfs.path, child.get()));
    std::unique_ptr<sandbox::ImageLayer> layer;
    if (layered && !host) {
      BATON_ASSIGN_OR_RETURN(layer, sandbox::ImageLayer::Create(layers_dir_, run.id));
    }
    // Held until the child has copied it (Spawn returns).
    std::shared_ptr<const ScopedFd> shared_root;
    if (host && !run.privileged) {
      // The probe, hermetic, still takes the root the first task is expected to take (ProbeRoot):
      // it is then built once, as the sandbox starts, instead of again by the first task.
      BATON_ASSIGN_OR_RETURN(shared_root, SharedRootFor(/*with_resolv_conf=*/run.network ||
                                                        (probe && options_.prepare_networks)));
    }
    // A task with a network on the host's root takes the spare made ahead for it, if there is one
    // ready on its root (spare_sandbox.h): only its binds are left to add.
    std::unique_ptr<sandbox::SpareSandboxes::Spare> spare;
    if (shared_root && spares_ && run.network && !probe && !layer && !before_start &&
        sandbox::SpareSandboxes::Fits(run, stdio, cgroups)) {
      spare = spares_->Take(shared_root);
    }
    if (shared_root) {
      BATON_RETURN_IF_ERROR(spare ? sandbox::PrepareTaskBinds(run, work_mount, child.get())
                                  : sandbox::PrepareTaskMounts(run, work_mount, child.get()));
      child->plan.shared_root_fd = shared_root->get();
      child->plan.new_root = "/";
    } else {
      BATON_RETURN_IF_ERROR(sandbox::PrepareMounts(run, options_, new_root_, work_mount,
                                                   layer ? &layer->paths() : nullptr, child.get()));
      child->plan.new_root = child->strings.Keep(new_root_);
    }
    BATON_RETURN_IF_ERROR(users_.Apply(run, child.get()));  // chowns an image when not idmapped
    if (layer) BATON_RETURN_IF_ERROR(layer->MatchRoot(run.rootfs.path, users_.IdShift(run)));
    child->plan.hostname =
        child->strings.Keep(run.hostname.empty() ? DefaultHostname(run.id) : run.hostname);
    child->plan.loopback_up = true;
    // In a copy of the shared root, the child joins and copies that mount namespace instead.
    int flags =
        (shared_root ? 0 : CLONE_NEWNS) | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
    // The tasks that may use this task's network after it: a privileged task could reconfigure
    // it, so its network is never shelved.
    std::string scope = run.privileged ? "" : run.network_scope;
    if (!run.network) {
      // Hermetic: a namespace with only its loopback, a new one or one a hermetic task of the
      // same pipeline left as new.
      // One to keep for the scope's next task is made here, not by the clone, so that it can be
      // opened before anything runs in it.
      std::optional<sandbox::ReadyNetwork> bare = networks_.TakeHermetic(scope);
      if (!bare && !scope.empty()) {
        BATON_ASSIGN_OR_RETURN(sandbox::ReadyNetwork made, networks_.NewHermetic());
        bare.emplace(std::move(made));
      }
      if (bare) {
        child->plan.netns_fd = bare->netns.get();
        flags &= ~CLONE_NEWNET;
      } else if (probe && probe_netns >= 0) {
        child->plan.netns_fd = probe_netns;
        flags &= ~CLONE_NEWNET;
      }
      BATON_ASSIGN_OR_RETURN(auto process, Spawn(*child, flags, stdio, cgroups, before_start));
      if (bare) {
        process = networks_.Lend(std::move(process), std::move(*bare),
                                 sandbox::TaskNetworks::HermeticScope(scope));
      }
      return Layered(std::move(process), std::move(layer));
    }
    // Not hermetic: the task joins a network namespace made ahead, its stack already up: a new
    // one, or one a task of the same pipeline left as new.
    if (!shared_root) {  // else it is in the shared root
      BATON_RETURN_IF_ERROR(
          networks_.AddResolvConf(host ? "/" : run.rootfs.path, new_root_, child.get()));
    }
    BATON_ASSIGN_OR_RETURN(auto network, networks_.Take(run.id, scope));
    child->plan.netns_fd = network.netns.get();
    if (spare) {
      BATON_ASSIGN_OR_RETURN(auto process, spare->Start(*child, stdio, cgroups));
      return Layered(networks_.Lend(std::move(process), std::move(network), std::move(scope)),
                     std::move(layer));
    }
    // If the start fails, `network` is dropped, never given to another task.
    BATON_ASSIGN_OR_RETURN(auto process,
                           Spawn(*child, flags & ~CLONE_NEWNET, stdio, cgroups, before_start));
    return Layered(networks_.Lend(std::move(process), std::move(network), std::move(scope)),
                   std::move(layer));
  }

  std::string Describe() const override {
    Status layers = ImageLayers();
    std::string no_shared_root = shared_roots_.why_not();
    return users_.Describe() +
           (no_shared_root.empty()
                ? ""
                : "; each task builds its root (no shared root: " + no_shared_root + ")") +
           (layers.ok() ? "; images get a writable layer per task (overlayfs)"
                        : "; images are read-only: " + layers.message()) +
           (init_.fd() >= 0
                ? ""
                : "; each sandbox's init is a copy of the worker (" + init_.why_not() + ")") +
           (spares_ && !spares_->why_not().empty()
                ? "; no sandbox is made ahead (" + spares_->why_not() + ")"
                : "");
  }

  bool UsesInitImage() const { return init_.fd() >= 0; }
  // Each sandbox's init stays a copy of the worker from now on (the small one cannot run here).
  // REQUIRES: no task started yet.
  void DropInitImage(const std::string& why) { init_ = sandbox::InitImage::Unavailable(why); }

  void PrepareNetworks() override { networks_.Prepare(); }
  void StopNetworks() override {
    if (spares_) spares_->Stop();
    networks_.Stop();
  }

  // The probe goes through the sandbox the tasks will use: one user namespace, made once.
  Status Check() override {
    if (::geteuid() != 0) {
      return FailedPrecondition("namespaces and mounts need root (running as uid " +
                                std::to_string(::geteuid()) + ")");
    }
    if (FirstSpareProbed()) return Status::Ok();
    std::error_code ec;
    std::string work = options_.state_dir + "/probe-work";
    fs::create_directories(work, ec);
    if (ec) return IoError("creating " + work + ": " + ec.message());
    TaskRun run;
    run.id = "probe";
    run.path = "/bin/true";
    run.work_dir = work;
    run.network = false;
    // In the first task network's namespace, made meanwhile by the pool (see TaskNetworks), which
    // no task gets before this guard has told the pool the probe is gone (`started` first).
    ScopedFd netns = networks_.TakeProbeNamespace();
    struct Release {
      sandbox::TaskNetworks& networks;
      ~Release() { networks.ReleaseProbeNamespace(); }
    } release{networks_};
    auto started = StartChild(run, SandboxStdio{}, CgroupEntry{}, nullptr, /*probe=*/true,
                              /*layered=*/false, netns.get());
    if (!started.ok() && UsesInitImage()) {  // e.g. a policy against executing memfds
      DropInitImage(started.status().message());
      started = StartChild(run, SandboxStdio{}, CgroupEntry{}, nullptr, /*probe=*/true,
                           /*layered=*/false, netns.get());
    }
    if (!started.ok()) return started.status();
    int code = (*started)->Wait();
    if (code != 0)
      return FailedPrecondition("the sandbox probe exited with " + std::to_string(code));
    StartSpares();
    return Status::Ok();
  }

  std::string RootNotice(const TaskRun& run) override {
    if (run.rootfs.kind != RootfsSpec::Kind::kDirectory) return {};
    Status layers = ImageLayers();
    if (layers.ok()) return {};
    return "this task's image is read-only (no writable layer: " + layers.message() +
           "); write under the task's directory or /tmp instead";
  }

 private:
  // The shared root (shared_root.h) an unprivileged task on the host's root copies; nullptr when
  // there is none (the task builds its root itself).
  // `with_resolv_conf`: the root of a task with a network (its /etc/resolv.conf names the
  // network's DNS).
  Result<std::shared_ptr<const ScopedFd>> SharedRootFor(bool with_resolv_conf) {
    std::string resolv_conf;
    if (with_resolv_conf) {
      BATON_ASSIGN_OR_RETURN(resolv_conf, networks_.ResolvConfFor("/"));
    }
    auto root = shared_roots_.Get(*masks_.Get(), resolv_conf);
    if (root.ok()) return root;
    return std::shared_ptr<const ScopedFd>();
  }

  // The shared root the probe takes, the first task's too: that of a task with a network
  // (Concourse's default), or a hermetic task's when no network is made ahead
  // (SandboxOptions::prepare_networks false: `baton run` of hermetic tasks only). Made from the
  // sandbox's start on a thread of its own, beside the user namespace and the probe's other parts
  // (~2 ms each, docs/benchmarks.md). Without root there is none.
  std::optional<sandbox::SharedRoots::Spec> ProbeRoot() {
    if (::geteuid() != 0) return std::nullopt;
    if (!options_.prepare_networks) return sandbox::SharedRoots::Spec{*masks_.Get(), ""};
    auto resolv_conf = networks_.ResolvConfFor("/");
    if (!resolv_conf.ok()) return std::nullopt;  // the probe reports it
    return sandbox::SharedRoots::Spec{*masks_.Get(), *resolv_conf};
  }

  // Where spares are made, the first spare is the probe: it builds the sandbox a task will take,
  // and before it a process does what the probe's own sandbox did beyond that (RunProbeChild: PID
  // 1 of a PID namespace of its own, it joins the tasks' user namespace and executes the small
  // init). One sandbox at the worker's start instead of two, in the first milliseconds of a `baton
  // run`, when its CPUs are shared by the store's open, the plan and the first network's start
  // (W1 0.992, a one-job run 0.981, 600-800 alternated pairs of one binary; docs/benchmarks.md).
  // True when both passed; false (no spares made) when none can be made here, or either failed:
  // the probe of its own then answers, and says why, as before.
  bool FirstSpareProbed() {
    if (!CanMakeSpares()) return false;
    StartSpares(/*probe_first=*/true);
    Status first = spares_->AwaitFirst(kFirstSpareTimeout);
    if (first.ok()) return true;
    ModuleLogger("workers")->debug("the first spare sandbox did not probe ({}): probing alone",
                                   first.message());
    spares_.reset();  // its thread ends; its spare, if any, is dropped
    return false;
  }

  bool CanMakeSpares() const {
    return options_.spare_sandboxes && init_.fd() >= 0 && users_.ok() &&
           shared_roots_.why_not().empty();
  }

  // Tasks with a network (Concourse's default) on the host's root get their sandbox made ahead
  // (spare_sandbox.h) where every part of a spare is there: the small init, the user namespace,
  // shared roots. REQUIRES: the probe passed, or `probe_first`.
  void StartSpares(bool probe_first = false) {
    if (!CanMakeSpares()) return;
    // None for now (the masks changed as the root was made) or, once shared roots are off, none
    // ever (an error).
    auto root = [this]() -> Result<std::shared_ptr<const ScopedFd>> {
      auto shared_root = SharedRootFor(/*with_resolv_conf=*/true);
      if (shared_root.ok() && !*shared_root && !shared_roots_.why_not().empty()) {
        return FailedPrecondition(shared_roots_.why_not());
      }
      return shared_root;
    };
    spares_ =
        std::make_shared<sandbox::SpareSandboxes>(root, init_.fd(), users_.ns_fd(), probe_first);
    spares_->Start();
  }

  static std::unique_ptr<SandboxedProcess> Layered(std::unique_ptr<SandboxedProcess> process,
                                                   std::unique_ptr<sandbox::ImageLayer> layer) {
    if (!layer) return process;
    return sandbox::WithLayer(std::move(process), std::move(layer));
  }

  // Whether tasks on images get a writable layer: found out once, by building a sandbox with one
  // over an empty rootfs, as a task would (unprivileged where this worker can).
  Status ImageLayers() const {
    std::call_once(layers_checked_, [&] {
      if (!options_.writable_image_roots) {
        layers_status_ = FailedPrecondition("writable image roots are turned off on this worker");
        return;
      }
      layers_status_ = ProbeImageLayer();
    });
    return layers_status_;
  }

  Status ProbeImageLayer() const {
    std::string dir = options_.state_dir + "/layer-probe";
    std::error_code ec;
    fs::create_directories(dir + "/rootfs", ec);
    fs::create_directories(dir + "/work", ec);
    if (ec) return IoError("creating " + dir + ": " + ec.message());
    TaskRun run;
    run.id = "layer-probe";
    run.path = "/bin/true";
    run.work_dir = dir + "/work";
    run.network = false;
    run.privileged = !users_.ok();
    run.rootfs = {RootfsSpec::Kind::kDirectory, dir + "/rootfs"};
    auto* self = const_cast<NamespaceSandbox*>(this);  // StartChild changes nothing it shares
    auto started = self->StartChild(run, SandboxStdio{}, CgroupEntry{}, nullptr, /*probe=*/true,
                                    /*layered=*/true);
    Status status = started.ok() ? Status::Ok() : started.status();
    if (started.ok() && (*started)->Wait() != 0) {
      status = FailedPrecondition("the overlayfs probe failed");
    }
    fs::remove_all(dir, ec);
    if (status.ok()) return status;
    return FailedPrecondition(
        "overlayfs cannot be mounted here (" + status.message() +
        "): needs Linux 5.19 or later with overlay (modprobe overlay) on the worker's filesystem");
  }

  static std::string MakeRoot(const SandboxOptions& options) {
    std::string root = options.state_dir + "/root";
    std::error_code ec;
    fs::create_directories(root, ec);
    return root;
  }

  SandboxOptions options_;
  // What the shared roots mask, checked against the host for each task; before shared_roots_.
  sandbox::MaskCache masks_;
  sandbox::TaskNetworks networks_;
  std::string new_root_;
  std::string layers_dir_;  // tasks' writable layers over their images
  // Unprivileged tasks' roots on the host's root; made before users_, so that the probe's root is
  // built while the user namespace is made.
  sandbox::SharedRoots shared_roots_;
  sandbox::TaskUsers users_;  // unprivileged tasks' user namespace
  sandbox::InitImage init_;   // what each sandbox's init becomes once its task has started
  mutable std::once_flag layers_checked_;
  mutable Status layers_status_;  // written once, under layers_checked_
  // Made once the probe passed (Check), before any task starts; last, so that it goes first: its
  // thread and the spare's init use the parts above.
  std::shared_ptr<sandbox::SpareSandboxes> spares_;
};

}  // namespace

std::unique_ptr<Sandbox> MakeNamespaceSandbox(SandboxOptions options) {
  return std::make_unique<NamespaceSandbox>(std::move(options));
}

Result<std::unique_ptr<Sandbox>> MakeCheckedNamespaceSandbox(SandboxOptions options) {
  auto sandbox = MakeNamespaceSandbox(std::move(options));
  BATON_RETURN_IF_ERROR(sandbox->Check());
  return sandbox;
}

std::string WorkMountFor(const TaskRun& run) {
  if (!run.work_mount.empty()) return run.work_mount;
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : run.id) h = (h ^ c) * 16777619u;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return std::string("/tmp/build/") + buf;
}

}  // namespace baton::workers
