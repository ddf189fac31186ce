#!/usr/bin/env python3
"""compile_cost.py: CPU seconds to compile some of Baton's files, as the build compiles them
(from BUILD/compile_commands.json, without ccache), optionally with extra flags appended
(later flags win: -g1, -O1, ...) or with a precompiled header. docs/benchmarks.md, "Build time".

  bench/compile_cost.py BUILD FILE[,FILE...] [FLAG ...]
  bench/compile_cost.py build tests/runner/planner_test.cpp,tests/e2e/server_test.cpp -g1
  bench/compile_cost.py build tests/runner/planner_test.cpp --pch pch.h   # builds pch.h.gch first
  bench/compile_cost.py build @baton        # every object of target baton (unity sources too)
  bench/compile_cost.py build build/cli/CMakeFiles/baton.dir/Unity/unity_0_cxx.cxx
"""
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile


def command_for(entries, source_dir, path):
    for e in entries:
        if os.path.relpath(e["file"], source_dir) == path:
            cmd = shlex.split(e["command"])
            if os.path.basename(cmd[0]) == "ccache":
                cmd = cmd[1:]
            out, skip = [], False
            for arg in cmd:
                if skip:
                    skip = False
                elif arg == "-o":
                    skip = True
                else:
                    out.append(arg)
            return out, e["directory"]
    sys.exit(f"{path} is not in compile_commands.json: give a path relative to the source tree")


def output_of(command):
    args = shlex.split(command)
    return args[args.index("-o") + 1] if "-o" in args else ""


def target_files(entries, source_dir, arg):
    """@TARGET: the sources of every object of TARGET (its unity sources under BATON_UNITY)."""
    if not arg.startswith("@"):
        return [arg]
    marker = f"/{arg[1:]}.dir/"
    found = [os.path.relpath(e["file"], source_dir) for e in entries
             if marker in "/" + output_of(e["command"])]
    if not found:
        sys.exit(f"no object of target {arg[1:]} in compile_commands.json")
    return found


def cpu_of(cmd, cwd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"compiling failed: {' '.join(cmd)}\n{done.stderr[:3000]}")
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    build, files, extra = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
    entries = json.load(open(os.path.join(build, "compile_commands.json")))
    source_dir = os.path.dirname(os.path.abspath(__file__ + "/.."))
    files = [f for arg in files for f in target_files(entries, source_dir, arg)]
    pch = None
    if extra[:1] == ["--pch"]:
        pch, extra = os.path.abspath(extra[1]), extra[2:]
        cmd, cwd = command_for(entries, source_dir, files[0])
        cmd = [a for a in cmd if a != cmd[-1]]  # drop the source file
        print(f"pch {pch}.gch: {cpu_of(cmd + ['-x', 'c++-header', pch, '-o', pch + '.gch'], cwd):.1f} s")
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            cmd, cwd = command_for(entries, source_dir, path)
            pre = ["-include", pch, "-Winvalid-pch"] if pch else []
            seconds = cpu_of(cmd[:1] + pre + cmd[1:] + extra + ["-o", os.path.join(tmp, "x.o")], cwd)
            total += seconds
            print(f"{path}: {seconds:.1f} s CPU")
    print(f"total {total:.1f} s CPU {' '.join(extra)}{' with PCH' if pch else ''}")


if __name__ == "__main__":
    main()
