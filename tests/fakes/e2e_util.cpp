#include "fakes/e2e_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "fakes/test_env.h"

extern char** environ;

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// What the child executes, made before the fork: a child of a process with other threads must
// not allocate (another thread may have held the allocator's lock at the fork).
struct ExecPlan {
  std::vector<char*> args;
  std::vector<char*> env;  // the parent's environment, `extra_env` added or replacing
};

ExecPlan PlanExec(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ExecPlan plan;
  for (const auto& a : argv) plan.args.push_back(const_cast<char*>(a.c_str()));
  plan.args.push_back(nullptr);
  auto name_of = [](const char* kv) { return std::string(kv, std::strcspn(kv, "=")); };
  for (char** e = environ; *e != nullptr; ++e) {
    bool replaced = false;
    for (const auto& kv : options.extra_env) replaced |= name_of(kv.c_str()) == name_of(*e);
    if (!replaced) plan.env.push_back(*e);
  }
  for (const auto& kv : options.extra_env) plan.env.push_back(const_cast<char*>(kv.c_str()));
  plan.env.push_back(nullptr);
  return plan;
}

[[noreturn]] void ExecChild(const ExecPlan& plan, const ProcessOptions& options, int out_w,
                            int err_w) {
  setpgid(0, 0);
  if (!options.output_file.empty()) {
    out_w = open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    err_w = out_w;
    if (out_w < 0) _exit(126);
  }
  int null_fd = open("/dev/null", O_RDONLY);
  dup2(null_fd, 0);
  dup2(out_w, 1);
  dup2(err_w, 2);
  if (!options.output_file.empty()) close(out_w);
  if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
  execvpe(plan.args[0], plan.args.data(), plan.env.data());
  _exit(127);
}

void MakePipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
}

std::string ReadCmdline(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  for (char& c : s) {
    if (c == '\0') c = ' ';
  }
  return s;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  int out[2], err[2];
  MakePipe(out);
  MakePipe(err);
  deadline_ = Steady::now() + options.timeout;
  const ExecPlan plan = PlanExec(argv, options);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) ExecChild(plan, options, out[1], err[1]);
  setpgid(pid_, pid_);
  // Its exit wakes Pump at once instead of after its next poll's timeout.
  exit_fd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  close(out[1]);
  close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
  fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  fcntl(err_fd_, F_SETFL, O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
  if (!exited_ && pid_ > 0) {
    kill(-pid_, SIGKILL);
    Reap(true);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
  if (exit_fd_ >= 0) close(exit_fd_);
}

bool ChildProcess::Pump(milliseconds wait) {
  // The pidfd only until the exit is reaped: it stays readable after.
  pollfd fds[3] = {
      {out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}, {exited_ ? -1 : exit_fd_, POLLIN, 0}};
  int open_count = (out_fd_ >= 0) + (err_fd_ >= 0);
  if (open_count == 0) {
    // Nothing to read: wait for the exit (or a little, without a pidfd), if it is to come.
    if (fds[2].fd >= 0) {
      poll(&fds[2], 1, static_cast<int>(wait.count()));
    } else if (!exited_) {
      poll(nullptr, 0, std::min(5, static_cast<int>(wait.count())));
    }
    return false;
  }
  if (poll(fds, 3, static_cast<int>(wait.count())) <= 0) return true;
  if (fds[2].revents != 0) Reap(false);
  std::string* sinks[2] = {&result_.out, &result_.err};
  int* fd_refs[2] = {&out_fd_, &err_fd_};
  for (int i = 0; i < 2; ++i) {
    if (*fd_refs[i] < 0 || fds[i].revents == 0) continue;
    char buf[65536];
    ssize_t n;
    while ((n = read(*fd_refs[i], buf, sizeof buf)) > 0) sinks[i]->append(buf, n);
    if (n == 0) {
      close(*fd_refs[i]);
      *fd_refs[i] = -1;
    }
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

bool ChildProcess::Reap(bool block) {
  if (exited_) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r != pid_) return false;
  exited_ = true;
  if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result_.term_signal = WTERMSIG(status);
  return true;
}

bool ChildProcess::WaitForOutput(const std::string& needle, milliseconds timeout) {
  auto deadline = std::min(Steady::now() + timeout, deadline_);
  while (Steady::now() < deadline) {
    if (result_.out.find(needle) != std::string::npos) return true;
    if (result_.err.find(needle) != std::string::npos) return true;
    if (!Pump(milliseconds(50)) && Reap(false)) break;
  }
  return result_.All().find(needle) != std::string::npos;
}

void ChildProcess::Signal(int sig) {
  if (!exited_) kill(pid_, sig);
}

void ChildProcess::SignalGroup(int sig) {
  if (!exited_) kill(-pid_, sig);
}

ProcessResult ChildProcess::Wait() {
  while (!Reap(false)) {
    if (Steady::now() >= deadline_) {
      result_.timed_out = true;
      kill(-pid_, SIGKILL);
      Reap(true);
      break;
    }
    Pump(milliseconds(50));
  }
  // Drain what the process wrote before it exited; stop if a leaked grandchild keeps a pipe.
  auto drain_deadline = Steady::now() + milliseconds(2000);
  while (Steady::now() < drain_deadline && Pump(milliseconds(50))) {
  }
  return result_;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ChildProcess child(argv, options);
  return child.Wait();
}

ProcessResult RunBaton(const std::vector<std::string>& args, const ProcessOptions& options) {
  std::vector<std::string> argv{BatonBinary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, options);
}

ProcessResult RunBatonShell(const std::string& args) {
  return RunProcess({"/bin/sh", "-c", "'" + BatonBinary().string() + "' " + args});
}

std::map<std::string, std::string> ParseRunSummary(const std::string& out) {
  std::map<std::string, std::string> jobs;
  size_t header = out.rfind("\nJOB ");
  if (header == std::string::npos) return jobs;
  std::istringstream lines(out.substr(header + 1));
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    if (line.empty() || line.rfind("history:", 0) == 0) break;
    std::istringstream words(line);
    std::string job, status;
    if (words >> job >> status) jobs[job] = status;
  }
  return jobs;
}

size_t CountOccurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

std::vector<pid_t> ProcessesWithMarker(const std::string& marker) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == getpid()) continue;
    if (ReadCmdline(entry.path() / "cmdline").find(marker) != std::string::npos) {
      found.push_back(pid);
    }
  }
  return found;
}

}  // namespace baton::testing
