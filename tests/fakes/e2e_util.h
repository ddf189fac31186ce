// Helpers for end-to-end tests and benchmarks that run the real `baton` binary as a child
// process: start it in its own process group, read its stdout/stderr without blocking (or send
// them to a file), wait for a line with a deadline, signal it, and parse the summary table of
// `baton run`. The one child-process runner of the test tree (server_process.h builds on it).
// Not thread-safe: one ChildProcess is driven by one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace baton::testing {

struct ProcessResult {
  int exit_code = -1;   // the exit status, or -1 when killed by a signal
  int term_signal = 0;  // the signal that ended the process, if any
  bool timed_out = false;
  std::string out;
  std::string err;
  std::string All() const { return out + err; }
};

struct ProcessOptions {
  std::filesystem::path cwd;           // empty: inherit
  std::vector<std::string> extra_env;  // KEY=VALUE added to the parent's environment
  std::chrono::milliseconds timeout{120000};
  // When set, stdout and stderr are appended to this file instead of being piped (for
  // long-lived servers whose output nobody reads as it comes); out()/err() stay empty.
  std::filesystem::path output_file;
};

// A child process started at construction with stdin from /dev/null and stdout/stderr piped.
// The destructor SIGKILLs its process group if it is still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reads output until stdout+stderr contain `needle`; false at the deadline or at exit.
  bool WaitForOutput(const std::string& needle, std::chrono::milliseconds deadline);
  void Signal(int sig);
  // Sends `sig` to the whole process group (the child and everything it started).
  void SignalGroup(int sig);
  // Whether the process has exited (reaps it without blocking).
  bool HasExited() { return Reap(false); }
  // Waits for the exit (SIGKILLs the group at options.timeout) and returns everything read.
  ProcessResult Wait();
  const std::string& out() const { return result_.out; }
  const std::string& err() const { return result_.err; }

 private:
  // Reads what is available within `wait`; returns false once both pipes are closed.
  bool Pump(std::chrono::milliseconds wait);
  bool Reap(bool block);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int exit_fd_ = -1;  // a pidfd, readable once the process has exited; -1 without pidfd_open
  bool exited_ = false;
  std::chrono::steady_clock::time_point deadline_;
  ProcessResult result_;
};

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});
// RunProcess with the baton binary as argv[0].
ProcessResult RunBaton(const std::vector<std::string>& args, const ProcessOptions& options = {});
// `baton ARGS` through /bin/sh, for tests that write their arguments as one shell line
// (quotes included): RunBatonShell("validate-pipeline -c p.yml -y 'uri={a: b}'").
ProcessResult RunBatonShell(const std::string& args);

// The `baton run` summary table: job name -> status ("succeeded", "failed", "skipped", ...).
std::map<std::string, std::string> ParseRunSummary(const std::string& out);

// How many times `needle` occurs in `text`.
size_t CountOccurrences(const std::string& text, const std::string& needle);

// Ids of live processes whose command line contains `marker` (scans /proc).
std::vector<pid_t> ProcessesWithMarker(const std::string& marker);

}  // namespace baton::testing
