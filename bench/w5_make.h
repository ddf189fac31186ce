// W5's baseline for bench_server: `make -j2` running W5's one command.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "proc_stats.h"

namespace baton::bench {

// `make -j2` running the same one command as W5's task, from make's start to the command's
// `date +%s%N` (what W5 measures of baton: the trigger to the task's first instruction), in
// ms; 0 when make fails.
inline double MakeFirstInstructionMs(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "Makefile") << "all:\n\t@echo T=$$(date +%s%N)\n";
  int out[2];
  if (pipe(out) != 0) return 0;
  const int64_t t0 = NowNs();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    if (chdir(dir.c_str()) != 0) _exit(126);
    execlp("make", "make", "-s", "-j2", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[256];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) {
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  size_t at = text.find("T=");
  if (pid < 0 || at == std::string::npos) return 0;
  return static_cast<double>(std::atoll(text.c_str() + at + 2) - t0) / 1e6;
}

// MakeFirstInstructionMs `runs` times: the runs where make succeeded.
inline std::vector<double> MakeFirstInstructionRuns(const std::filesystem::path& dir, int runs) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    if (double one = MakeFirstInstructionMs(dir); one > 0) ms.push_back(one);
  }
  return ms;
}

}  // namespace baton::bench
