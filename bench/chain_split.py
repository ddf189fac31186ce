#!/usr/bin/env python3
"""chain_split.py: a chain of short tasks under `baton run` (W1's six `true`s) taken apart from
the kernel's scheduler events, which cost a few µs each: the start (baton's exec to the first
task's exec), per job the engine (a task's exit to the next sandbox's clone), the sandbox's start
(that clone to the task's exec) and the task itself, and the end (the last task's exit to
baton's). Medians over RUNS runs, each on a fresh data dir. Needs root and perf.
docs/benchmarks.md, "Where a W1 run's ~19.5 ms go now".

  bench/chain_split.py BATON PIPELINE [RUNS] [-- EXTRA BATON RUN FLAGS]
  bench/chain_split.py build/bin/baton /tmp/w1/pipeline.yml 12
  bench/chain_split.py build/bin/baton /tmp/w1/pipeline.yml 12 -- --unsafe-no-sandbox

The pipeline's tasks must run one program whose name (TASK, default `true`) nothing else runs.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

EVENT = re.compile(r"\s*(.+?)\s+(\d+)/(\d+)\s+([\d.]+):\s+sched:sched_process_(\w+):")


def split_run(baton, pipeline, extra, task, scratch):
    data = os.path.join(scratch, "data")
    shutil.rmtree(data, ignore_errors=True)
    record = os.path.join(scratch, "perf.data")
    subprocess.run(
        ["perf", "record", "-q", "-o", record, "-e", "sched:sched_process_exec", "-e",
         "sched:sched_process_exit", "-e", "sched:sched_process_fork", "--", baton, "run", "-c",
         pipeline, "--data-dir", data] + extra,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    script = subprocess.run(["perf", "script", "-i", record, "-F", "comm,pid,tid,time,event"],
                            capture_output=True, text=True, check=True).stdout
    main = start = last_exit = last_fork = exec_at = None
    parts = {"start": [], "engine": [], "spawn": [], "task": [], "end": []}
    for line in script.splitlines():
        m = EVENT.match(line)
        if not m:
            continue
        comm, pid, tid, at, kind = m.group(1), int(m.group(2)), int(m.group(3)), \
            float(m.group(4)) * 1000, m.group(5)
        if main is None:
            if kind == "exec":
                main, start = pid, at
            continue
        if kind == "fork" and pid == main:
            last_fork = at
        elif kind == "exec" and comm == task:
            if last_exit is None:
                parts["start"].append(at - start)
            elif last_fork is not None and last_fork > last_exit:
                parts["engine"].append(last_fork - last_exit)
            if last_fork is not None:
                parts["spawn"].append(at - last_fork)
            exec_at = at
        elif kind == "exit" and comm == task and exec_at is not None:
            parts["task"].append(at - exec_at)
            last_exit = at
        elif kind == "exit" and pid == main and tid == main and last_exit is not None:
            parts["end"].append(at - last_exit)
    return parts


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    baton, pipeline = os.path.abspath(args[0]), os.path.abspath(args[1])
    runs = int(args[2]) if len(args) > 2 else 10
    task = os.environ.get("TASK", "true")
    scratch = tempfile.mkdtemp(prefix="baton-chain-split-")
    total = {"start": [], "engine": [], "spawn": [], "task": [], "end": []}
    try:
        for _ in range(runs):
            for name, values in split_run(baton, pipeline, extra, task, scratch).items():
                total[name] += values
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    med = {k: statistics.median(v) if v else float("nan") for k, v in total.items()}
    print(f"{os.path.basename(baton)} {' '.join(extra)}: {runs} runs, load "
          f"{open('/proc/loadavg').read().split()[0]}")
    rows = [("start: baton's exec to the first task's exec", "start"),
            ("per job: a task's exit to the next sandbox's clone", "engine"),
            ("per job: that clone to the task's exec", "spawn"),
            ("per job: the task, exec to exit", "task"),
            ("end: the last task's exit to baton's", "end")]
    for label, key in rows:
        print(f"  {label:52s} {med[key]:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
