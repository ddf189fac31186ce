#include "sandbox/task_network.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sandbox/held_process.h"
#include "sandbox/network_pool.h"
#include "sandbox/network_shelf.h"
#include "sandbox/sys_util.h"

namespace baton::workers::sandbox {
namespace {

// slirp4netns's fixed addresses in the task: 10.0.2.100 (the task), 10.0.2.2 (gateway),
// 10.0.2.3 (DNS forwarder to the host's resolvers).
constexpr const char* kStackDns = "10.0.2.3";
constexpr auto kReadyTimeout = std::chrono::seconds(10);
constexpr auto kStopGrace = std::chrono::seconds(2);
// Networks made ahead (each an idle slirp4netns: 3.3 MB RSS, 0.3 MB of it its own): at most one
// (SandboxOptions::networks_ahead). A pipeline's later tasks mostly get the network an earlier one
// left on the shelf, so a second one ahead was a slirp4netns nobody took (a one-job run started
// three and used one; 2 and 6 made W1-W3 no faster, docs/benchmarks.md).
constexpr size_t kMaxAhead = 1;
// Networks whose task ended kept for the pipeline's next task: two for the tasks of a make -j2,
// two more for a second pipeline's; one is given again only within a minute of its task's end.
constexpr size_t kShelfSize = 4;
constexpr auto kShelfIdle = std::chrono::seconds(60);

std::string FindSlirp4netns() {
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs += ":/usr/bin:/usr/sbin";
  std::stringstream in(dirs);
  for (std::string dir; std::getline(in, dir, ':');) {
    if (dir.empty() || dir[0] != '/') continue;
    std::string exe = dir + "/slirp4netns";
    if (::access(exe.c_str(), X_OK) == 0) return exe;
  }
  return "";
}

// The host's resolv.conf with its nameservers replaced by the stack's forwarder.
std::string ResolvConfForTasks() {
  std::string out = "# written by Baton: DNS through the task's network stack\nnameserver ";
  out += kStackDns;
  out += "\n";
  std::ifstream host("/etc/resolv.conf");
  for (std::string line; std::getline(host, line);) {
    if (line.rfind("search", 0) == 0 || line.rfind("domain", 0) == 0 ||
        line.rfind("options", 0) == 0) {
      out += line + "\n";
    }
  }
  return out;
}

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The error of a stack that exited before it was up, with what it wrote to stderr.
Status ExitedEarly(HelperProcess& helper) {
  helper.WaitExited(std::chrono::seconds(2));
  auto status = helper.exit_status();
  return FailedPrecondition("slirp4netns exited (status " +
                            (status ? std::to_string(*status) : std::string("unknown")) +
                            ") before the network was up: " + helper.stderr_text() +
                            " (is /dev/net/tun available to the worker?)");
}

// Waits for slirp4netns's "1" on --ready-fd; EOF means it exited. `cancel_fd` readable: the
// worker is stopping, so the stack is not waited for (the caller stops it).
Status WaitReady(int ready_fd, int cancel_fd, HelperProcess& helper) {
  pollfd p[2] = {{ready_fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int n = ::poll(p, 2, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys::ErrnoStatus("waiting for slirp4netns", errno);
    if (n == 0) {
      return Unavailable("slirp4netns did not configure the network within " +
                         std::to_string(kReadyTimeout.count()) +
                         " s; the machine may be overloaded: retry, or make the task hermetic");
    }
    if (p[1].revents != 0) return Cancelled("the worker's sandbox is shutting down");
    char c = 0;
    ssize_t got = ::read(ready_fd, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got == 1) return Status::Ok();
    return ExitedEarly(helper);
  }
}

// slirp4netns runs without --enable-ipv6, so its tap0 carries IPv4 only; IPv6 on it would only
// cost each task's stack a link-local address, duplicate address detection and multicast joins
// (packets the stack reads and drops). Devices made after this in the namespace (tap0) get no
// IPv6; lo, made with the namespace, keeps ::1. Runs while the calling thread is in the new
// namespace: /proc/sys/net is the namespace of the thread that opens it.
void TurnOffIpv6OnNewDevices() {
  int fd = ::open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;  // no IPv6 in this kernel: nothing to turn off
  ssize_t n = ::write(fd, "1", 1);
  (void)n;  // a failure leaves tap0 as it was before this existed
  ::close(fd);
}

// Makes the stack's tap0 in namespace `fds[0]`, persistent, for slirp4netns to attach to, then
// returns to the worker's namespace `fds[1]`. A tap slirp4netns made itself goes when slirp4netns
// closes it: the kernel unregisters it there, in the stack's exit (12-24 ms of wall time, most of
// a stack's exit). A persistent one stays until its namespace goes, and is unregistered then with
// the namespace's other devices on the kernel's cleanup worker: a stack exits in 1-10 ms. The tap
// is the namespace's own and goes with it; nothing outlives the task's namespace. A failure leaves
// the tap to slirp4netns, which then reports what is missing (/dev/net/tun).
// Runs in the stack's process before its exec (HelperHost::Spec::before_exec): on a descriptor
// table of its own, so that a task's sandbox cloned meanwhile by another thread cannot copy the
// tap's descriptor and keep the tap attached (slirp4netns then fails with EBUSY, seen once in
// ~2,600 tasks when this ran on the pool's thread). It was a thread of its own, started and
// joined for each network (~1-2 ms of the first task's wait, docs/benchmarks.md).
int MakePersistentTap(const int* fds) {
  if (::setns(fds[0], CLONE_NEWNET) != 0) return 0;  // slirp4netns reports it
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "tap0", IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(fd, TUNSETIFF, &ifr) == 0) ::ioctl(fd, TUNSETPERSIST, 1);
    ::close(fd);
  }
  // The stack's sockets to the outside must be the worker's.
  return ::setns(fds[1], CLONE_NEWNET) == 0 ? 0 : errno;
}

// A task's network, held until the task has exited, then given to a task of the same scope
// waiting for one (NetworkPool::Return) or put back on the shelf, when it is as new; else (or
// when the sandbox is gone) dropped.
class LentNetwork {
 public:
  LentNetwork(ReadyNetwork network, std::string scope, std::weak_ptr<NetworkShelf> shelf,
              std::weak_ptr<NetworkPool> pool)
      : network_(std::move(network)),
        scope_(std::move(scope)),
        shelf_(std::move(shelf)),
        pool_(std::move(pool)) {}
  ~LentNetwork() {
    if (!NetworkShelf::Reusable(scope_, network_)) return;
    auto pool = network_.stack ? pool_.lock() : nullptr;  // a hermetic task's: the shelf's only
    if (pool) {
      std::optional<ReadyNetwork> back = pool->Return(scope_, std::move(network_));
      if (!back) return;  // a waiting task has it
      network_ = std::move(*back);
    }
    if (auto shelf = shelf_.lock()) shelf->Put(scope_, std::move(network_));
  }
  LentNetwork(const LentNetwork&) = delete;
  LentNetwork& operator=(const LentNetwork&) = delete;

 private:
  ReadyNetwork network_;
  std::string scope_;
  std::weak_ptr<NetworkShelf> shelf_;
  std::weak_ptr<NetworkPool> pool_;
};

}  // namespace

SocketCounts SocketCounts::Open(const std::string& sockstat) {
  SocketCounts out;
  out.sockstat_ = ScopedFd(::open(sockstat.c_str(), O_RDONLY | O_CLOEXEC));
  return out;
}

SocketCounts SocketCounts::OfThisThread() { return Open("/proc/thread-self/net/sockstat"); }

// "sockets: used N" counts every socket allocated in the namespace by a process (any family, an
// orphaned TCP socket until it is freed; not the kernel's own); "TCP: inuse N orphan N tw N ..."
// has the connections in TIME_WAIT, which are not sockets any more but still hold their ports.
// Both are the namespace's own; reading them walks none of the host's (shared) connection
// tables, as reading /proc/net/tcp does.
std::optional<SocketCounts::Counts> SocketCounts::Read() const {
  if (sockstat_.get() < 0 || ::lseek(sockstat_.get(), 0, SEEK_SET) != 0) return std::nullopt;
  char buf[512];
  ssize_t n;
  do {
    n = ::read(sockstat_.get(), buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  Counts counts;
  if (std::sscanf(buf, "sockets: used %ld", &counts.used) != 1) return std::nullopt;
  const char* tcp = std::strstr(buf, "\nTCP:");
  const char* tw = tcp ? std::strstr(tcp, " tw ") : nullptr;
  if (tw == nullptr || std::sscanf(tw, " tw %ld", &counts.tw) != 1) return std::nullopt;
  return counts;
}

void SocketCounts::Settle() { settled_ = Read(); }

bool SocketCounts::AsSettled() const {
  auto now = Read();
  return settled_ && now && now->used == settled_->used && now->tw == 0;
}

TaskNetwork::TaskNetwork(std::shared_ptr<HelperProcess> helper, int exit_fd,
                         std::weak_ptr<HelperHost> host)
    : helper_(std::move(helper)), exit_fd_(exit_fd), host_(std::move(host)) {}

TaskNetwork::~TaskNetwork() {
  ::close(exit_fd_);
  if (auto host = host_.lock()) {
    host->Retire(std::move(helper_), kStopGrace);
    return;
  }
  if (helper_->WaitExited(kStopGrace)) return;
  helper_->Signal(SIGKILL);
  helper_->WaitExited(std::chrono::seconds(10));
}

TaskNetworks::TaskNetworks(std::string state_dir, bool prepare, size_t ahead)
    : state_dir_(std::move(state_dir)),
      ahead_(std::min(ahead, kMaxAhead)),
      slirp4netns_(FindSlirp4netns()),
      worker_netns_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)),
      worker_netns_error_(worker_netns_.get() < 0 ? std::strerror(errno) : ""),
      shelf_(std::make_shared<NetworkShelf>(kShelfSize, kShelfIdle)) {
  if (prepare) Prepare();
}

std::shared_ptr<HelperHost> TaskNetworks::Host() {
  std::lock_guard lock(mu_);
  if (!host_) host_ = std::make_shared<HelperHost>();
  return host_;
}

Result<std::string> TaskNetworks::ResolvConfFor(const std::string& rootfs) {
  std::string file = state_dir_ + "/resolv.conf";
  {
    std::lock_guard lock(mu_);
    if (!resolv_conf_written_) {
      std::ofstream o(file, std::ios::trunc);
      o << ResolvConfForTasks();
      if (!o.flush()) return IoError("writing " + file + " (the tasks' resolv.conf) failed");
      resolv_conf_written_ = true;
    }
  }
  // A symlink would be followed outside the new root (the mounts happen before pivot_root).
  std::string in_root = (rootfs == "/" ? "" : rootfs) + "/etc/resolv.conf";
  if (!IsRegularFile(in_root)) return std::string();
  return file;
}

Status TaskNetworks::AddResolvConf(const std::string& rootfs, const std::string& new_root,
                                   PreparedChild* out) {
  BATON_ASSIGN_OR_RETURN(std::string file, ResolvConfFor(rootfs));
  if (file.empty()) return Status::Ok();
  std::string target = new_root + "/etc/resolv.conf";
  SetupStep bind;
  bind.source = out->strings.Keep(file);
  bind.target = out->strings.Keep(target);
  bind.flags = MS_BIND;
  out->plan.steps.push_back(bind);
  out->step_descriptions.push_back("mounting the task's resolv.conf at /etc/resolv.conf");
  SetupStep read_only;
  read_only.target = bind.target;
  read_only.flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
  out->plan.steps.push_back(read_only);
  out->step_descriptions.push_back("making /etc/resolv.conf read-only");
  return Status::Ok();
}

TaskNetworks::~TaskNetworks() {
  std::shared_ptr<NetworkPool> pool;
  {
    std::lock_guard lock(mu_);
    pool = std::move(pool_);
  }
  NoneForProbe();
  // Stopped here even if a task's network being handed back holds it a moment longer: it makes
  // none any more, and takes no network back.
  if (pool) pool->Stop();
  pool.reset();     // its idle stacks are told to stop
  shelf_->Close();  // and the shelved ones; a task's network, when its task ends
  std::lock_guard lock(mu_);
  host_.reset();  // kills and waits for every stack still running, idle, stopping or a task's
}

NetworkPool& TaskNetworks::Pool() {
  std::lock_guard lock(mu_);
  if (!pool_) {
    pool_ = std::make_shared<NetworkPool>(ahead_,
                                          [this](int cancel_fd) { return MakeNetwork(cancel_fd); });
  }
  return *pool_;
}

void TaskNetworks::Stop() {
  {
    std::lock_guard lock(mu_);
    if (pool_) pool_->Stop();
  }
  shelf_->Close();
  NoneForProbe();
}

void TaskNetworks::NoneForProbe() {
  {
    std::lock_guard lock(probe_mu_);
    // None may be made any more: a probe waiting goes on with a namespace of its own.
    if (probe_slot_ == ProbeSlot::kPending || probe_slot_ == ProbeSlot::kNone) {
      probe_slot_ = ProbeSlot::kDone;
    }
  }
  probe_changed_.notify_all();
}

void TaskNetworks::Prepare() {
  if (slirp4netns_.empty()) return;
  {
    std::lock_guard lock(probe_mu_);
    if (probe_slot_ == ProbeSlot::kNone) probe_slot_ = ProbeSlot::kPending;
  }
  Pool().Start();
  // The helper thread starts while the pool's thread makes the first namespace (~1 ms), not
  // before it: the stack is started only after that. Here, in the worker's namespace, as the
  // stacks it starts must be; else the pool's thread makes it, back in that namespace by then.
  Host();
}

ScopedFd TaskNetworks::TakeProbeNamespace() {
  std::unique_lock lock(probe_mu_);
  // The pool's thread makes the namespace first thing; a stopped pool never does.
  probe_changed_.wait_for(lock, kReadyTimeout, [&] { return probe_slot_ != ProbeSlot::kPending; });
  if (probe_slot_ != ProbeSlot::kOffered) return ScopedFd();
  probe_slot_ = ProbeSlot::kTaken;
  return std::move(probe_netns_);
}

void TaskNetworks::ReleaseProbeNamespace() {
  {
    std::lock_guard lock(probe_mu_);
    if (probe_slot_ == ProbeSlot::kTaken) probe_slot_ = ProbeSlot::kDone;
  }
  probe_changed_.notify_all();
}

void TaskNetworks::OfferToProbe(int netns_fd) {
  {
    std::lock_guard lock(probe_mu_);
    if (probe_slot_ != ProbeSlot::kPending) return;
    probe_netns_ = ScopedFd(netns_fd < 0 ? -1 : ::fcntl(netns_fd, F_DUPFD_CLOEXEC, 0));
    probe_slot_ = probe_netns_.get() < 0 ? ProbeSlot::kDone : ProbeSlot::kOffered;
  }
  probe_changed_.notify_all();
}

bool TaskNetworks::ProbeDone() {
  std::unique_lock lock(probe_mu_);
  if (probe_slot_ == ProbeSlot::kOffered) {  // not taken: the probe makes its own from now on
    probe_slot_ = ProbeSlot::kDone;
    probe_netns_ = ScopedFd();
  }
  return probe_changed_.wait_for(lock, kReadyTimeout,
                                 [&] { return probe_slot_ != ProbeSlot::kTaken; });
}

Result<ReadyNetwork> TaskNetworks::Take(const std::string& task_id, const std::string& scope) {
  if (!scope.empty()) {
    if (auto shelved = shelf_->Take(scope)) return std::move(*shelved);
  }
  if (slirp4netns_.empty()) {
    return FailedPrecondition(
        "task " + task_id +
        " is not hermetic, so it needs slirp4netns for its network, and this worker has none "
        "in its PATH: install it (apt-get install slirp4netns) or make the task hermetic: true");
  }
  NetworkPool* pool = &Pool();
  // A stack that exited while it waited (killed from outside) is dropped, never given to a task;
  // the pool makes new ones. A task of `scope` ending meanwhile may hand this one its network.
  for (size_t attempt = 0; attempt < kMaxAhead + 2; ++attempt) {
    auto network = pool->Take(kReadyTimeout + kStopGrace, scope);  // the maker's timeout first
    if (!network.ok()) {
      return Status(network.status().code(),
                    "starting the network of task " + task_id + ": " + network.status().message());
    }
    if (network->stack->running()) return network;
  }
  return Unavailable("starting the network of task " + task_id +
                     ": the network stacks (slirp4netns) of this worker keep exiting on their own");
}

// The calling thread steps into a new namespace only to open it (and run `inside` there), and
// back: what it starts afterwards must be in the worker's (a stack's sockets to the outside).
Result<ReadyNetwork> TaskNetworks::NewNamespace(void (*inside)()) {
  if (worker_netns_.get() < 0) {
    return FailedPrecondition("cannot open the worker's network namespace: " + worker_netns_error_);
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    return sys::ErrnoStatus("creating a network namespace", errno, StatusCode::kFailedPrecondition);
  }
  ReadyNetwork out;
  out.netns = ScopedFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  int open_err = errno;
  out.sockets = SocketCounts::OfThisThread();
  if (inside) inside();
  if (::setns(worker_netns_.get(), CLONE_NEWNET) != 0) {
    return sys::ErrnoStatus("returning to the worker's network namespace", errno);
  }
  if (out.netns.get() < 0) return sys::ErrnoStatus("opening a new network namespace", open_err);
  return out;
}

Result<ReadyNetwork> TaskNetworks::MakeNetwork(int cancel_fd) {
  Result<ReadyNetwork> made = NewNamespace(TurnOffIpv6OnNewDevices);
  OfferToProbe(made.ok() ? made->netns.get() : -1);
  BATON_RETURN_IF_ERROR(made.status());
  ReadyNetwork out = std::move(*made);
  BATON_ASSIGN_OR_RETURN(out.stack, StartStack(out.netns.get(), cancel_fd));
  // Unsettled (the probe did not end in time, or unreadable): the network is its task's alone.
  if (ProbeDone()) out.sockets.Settle();
  return out;
}

Result<std::unique_ptr<TaskNetwork>> TaskNetworks::StartStack(int netns_fd, int cancel_fd) {
  int ready[2], exit[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return sys::ErrnoStatus("creating a pipe", errno);
  if (::pipe2(exit, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(ready[0]);
    ::close(ready[1]);
    return sys::ErrnoStatus("creating a pipe", err);
  }
  HelperHost::Spec spec;
  // The namespace is the helper's descriptor 5: slirp4netns joins it by that path.
  spec.exe = slirp4netns_;
  spec.args = {"--configure",
               "--mtu=65520",
               "--disable-host-loopback",
               "--enable-sandbox",
               "--enable-seccomp",
               "--ready-fd=3",
               "--exit-fd=4",
               "--netns-type=path",
               "/proc/self/fd/5",
               "tap0"};
  spec.fds = {ready[1], exit[0], netns_fd};
  spec.before_exec = MakePersistentTap;
  spec.before_exec_args = {netns_fd, worker_netns_.get()};
  std::shared_ptr<HelperHost> host = Host();
  auto helper = host->Start(spec);
  ::close(ready[1]);
  ::close(exit[0]);
  if (!helper.ok()) {
    ::close(ready[0]);
    ::close(exit[1]);
    return helper.status();
  }
  auto network = std::make_unique<TaskNetwork>(*helper, exit[1], host);
  Status ready_status = WaitReady(ready[0], cancel_fd, **helper);
  ::close(ready[0]);
  if (!ready_status.ok()) return ready_status;  // `network` stops the stack
  return network;
}

std::string TaskNetworks::HermeticScope(const std::string& scope) {
  return scope.empty() ? "" : "hermetic " + scope;  // a team or pipeline name has no space
}

std::optional<ReadyNetwork> TaskNetworks::TakeHermetic(const std::string& scope) {
  if (scope.empty()) return std::nullopt;
  return shelf_->Take(HermeticScope(scope));
}

Result<ReadyNetwork> TaskNetworks::NewHermetic() {
  BATON_ASSIGN_OR_RETURN(ReadyNetwork out, NewNamespace(nullptr));
  out.sockets.Settle();  // nothing in it yet
  return out;
}

std::unique_ptr<SandboxedProcess> TaskNetworks::Lend(std::unique_ptr<SandboxedProcess> process,
                                                     ReadyNetwork network, std::string scope) {
  std::weak_ptr<NetworkPool> pool;
  {
    std::lock_guard lock(mu_);
    pool = pool_;
  }
  return HoldUntilExit(
      std::move(process),
      std::make_unique<LentNetwork>(std::move(network), std::move(scope), shelf_, std::move(pool)));
}

}  // namespace baton::workers::sandbox
