#include "sandbox/sys_util.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace baton::workers::sys {

ChildStack::ChildStack(size_t size) : size_(size) {
  void* mapped =
      ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mapped != MAP_FAILED) base_ = static_cast<char*>(mapped);
}

void ChildStack::Unpoison() const {
  if (base_ != nullptr) ASAN_UNPOISON_MEMORY_REGION(base_, size_);
}

ChildStack::~ChildStack() {
  if (base_ == nullptr) return;
  int err = errno;
  ASAN_UNPOISON_MEMORY_REGION(base_, size_);
  ::munmap(base_, size_);
  errno = err;
}

bool PinToCallersCpu(pid_t pid, cpu_set_t* before) {
  int cpu = ::sched_getcpu();  // glibc reads it from rseq: no system call
  if (cpu < 0 || ::sched_getaffinity(pid, sizeof *before, before) != 0) return false;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return ::sched_setaffinity(pid, sizeof one, &one) == 0;
}

#if defined(__x86_64__)
pid_t Clone3OnStack(clone_args* args, int (*fn)(void*), void* arg) {
  register long fn_reg asm("r12") = reinterpret_cast<long>(fn);
  register long arg_reg asm("r13") = reinterpret_cast<long>(arg);
  long ret;
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"  // the child, on its own stack
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov %%eax, %%edi\n\t"
      "mov $60, %%eax\n\t"  // exit
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(SYS_clone3), "D"(args), "S"(sizeof *args), "r"(fn_reg), "r"(arg_reg)
      : "rcx", "r11", "memory");
  if (ret < 0) {
    errno = static_cast<int>(-ret);
    return -1;
  }
  return static_cast<pid_t>(ret);
}
#endif

std::string ErrnoText(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof buf);  // GNU variant returns the message
}

Status ErrnoStatus(const std::string& what, int err, StatusCode code) {
  return Status(code, what + ": " + ErrnoText(err));
}

Status WriteSmallFile(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening " + path, errno);
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return ErrnoStatus("writing '" + value + "' to " + path, err);
  return Status::Ok();
}

SigpipeBlock::SigpipeBlock() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
  nested_ = sigismember(&old_, SIGPIPE) == 1;
}

SigpipeBlock::~SigpipeBlock() {
  if (nested_) return;  // the outer block takes what was raised, and unblocks
  timespec zero{0, 0};
  while (sigtimedwait(&set_, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

bool MountsChanged(int fd) {
  pollfd p{fd, POLLPRI, 0};
  return fd < 0 || ::poll(&p, 1, 0) != 0;
}

// read(2), not std::ifstream: a task's cgroup files are read five times at its end (~1 us each
// fewer without a stream's locale and buffer).
std::string ReadSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        if (c < '0' || c > '7') ok = false;
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool ParseMountLine(const std::string& line, MountEntry* e) {
  std::istringstream in(line);
  std::string id, parent, dev, root, mount_point, options, field;
  if (!(in >> id >> parent >> dev >> root >> mount_point >> options)) return false;
  while (in >> field && field != "-") {
  }
  if (field != "-") return false;
  if (!(in >> e->fs_type >> e->source)) return false;
  in >> e->super_options;
  e->root = Unescape(root);
  e->mount_point = Unescape(mount_point);
  e->options = options;
  return true;
}

}  // namespace

std::vector<MountEntry> ReadMountInfo(const std::string& path) {
  std::vector<MountEntry> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    MountEntry e;
    if (ParseMountLine(line, &e)) out.push_back(std::move(e));
  }
  return out;
}

bool HasCommaItem(const std::string& list, const std::string& token) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    if (list.compare(start, end - start, token) == 0) return true;
    start = end + 1;
  }
  return false;
}

bool IsSameOrUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  if (path.compare(0, dir.size(), dir) != 0) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

}  // namespace baton::workers::sys
