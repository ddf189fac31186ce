#!/usr/bin/env python3
"""Writes cmake/baton.symbol-order: the functions of bin/baton that run while a server starts, sits
idle and runs builds, and while the client starts, for lld's --symbol-ordering-file
(BATON_SYMBOL_ORDER).

The linker puts them first and together, so the pages of code they touch are few and adjacent:
the kernel maps 64 KB around each page fault of a file mapping, and a start that touched code
spread over the whole binary kept ~4.7 MB of it resident, ~3.0 MB once ordered (docs/benchmarks.md,
"2026-12-05, ninth stop"). A stale list costs nothing but the gain: names that no longer exist are
skipped, new functions land after the listed ones.

It runs the binary under valgrind's callgrind (which records every function executed): `baton
--version` and `baton quickstart --unsafe-no-sandbox` for a few seconds (callgrind cannot follow
the sandbox's clone3 calls nor a task's pidfd, so neither the sandbox's start nor a build is in
that part). After those come the functions `perf record` samples in the server while
bench_server runs W1-W5 through it (BUILD/bin/bench_server), most sampled first: the code builds
run, together too, so that the server once quiet after builds keeps few more pages than idle.
Sampling misses code that runs rarely; that code stays in the default order.

    cmake/symbol_order.py build/bin/baton build/bin/bench_server > cmake/baton.symbol-order
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time


def run_callgrind(out, argv, seconds=None):
    cmd = ["valgrind", "--tool=callgrind", "--demangle=no", "--callgrind-out-file=" + out] + argv
    with open(os.devnull, "w") as null:
        p = subprocess.Popen(cmd, stdout=null, stderr=null)
        if seconds is None:
            p.wait()
            return
        time.sleep(seconds)
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def executed_functions(path, binary):
    """Mangled names of the functions of `binary` in one callgrind output, in the order it lists
    them (names are compressed: `(id) name` the first time, `(id)` after)."""
    objects, functions, names = {}, {}, []
    current_object = called_object = None
    position = re.compile(r"^(c?ob|c?fn|f[lie]|cf[il])=\((\d+)\)(?: (.*))?$")
    for line in open(path, errors="replace"):
        m = position.match(line.rstrip("\n"))
        if not m:
            continue
        kind, ident, name = m.groups()
        if kind in ("ob", "cob"):
            if name is not None:
                objects[ident] = name
            if kind == "ob":
                current_object = objects.get(ident)
            else:
                called_object = objects.get(ident)
        elif kind in ("fn", "cfn"):
            if name is not None:
                functions[ident] = name
            obj = current_object if kind == "fn" else (called_object or current_object)
            if kind == "cfn":
                called_object = None
            name = functions.get(ident)
            if obj == binary and name and not name.startswith("0x"):
                names.append(name)
    return names


def sampled_functions(baton, bench_server, tmp):
    """The functions of `baton` that perf samples while bench_server drives builds through it,
    most sampled first."""
    data = os.path.join(tmp, "server.perf")
    with open(os.devnull, "w") as null:
        subprocess.run(["perf", "record", "-q", "-a", "-F", "40000", "-e", "cycles:u", "-o", data,
                        "--", bench_server, "--baton", baton, "--only", "W1,W2,W3,W4,W5",
                        "--runs", "150"], stdout=null, stderr=null, check=True)
        script = subprocess.run(["perf", "script", "-i", data, "--no-demangle", "-F", "ip,sym,dso"],
                                stdout=subprocess.PIPE, stderr=null, text=True, check=True).stdout
    counts = {}
    for line in script.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2] == "(" + baton + ")" and fields[1] != "[unknown]":
            counts[fields[1]] = counts.get(fields[1], 0) + 1
    return sorted(counts, key=lambda name: (-counts[name], name))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: cmake/symbol_order.py BUILD/bin/baton BUILD/bin/bench_server "
                 "> cmake/baton.symbol-order")
    baton = os.path.realpath(sys.argv[1])
    bench_server = os.path.realpath(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="baton-order") as tmp:
        version, server = os.path.join(tmp, "version.cg"), os.path.join(tmp, "server.cg")
        run_callgrind(version, [baton, "--version"])
        run_callgrind(server, [baton, "quickstart", "--unsafe-no-sandbox", "--bind", "127.0.0.1:0",
                               "--data-dir", os.path.join(tmp, "data")], seconds=20)
        seen, order = set(), []
        for out in (version, server):
            if not os.path.exists(out) or os.path.getsize(out) == 0:
                sys.exit("symbol_order.py: callgrind wrote nothing to " + out)
            for name in executed_functions(out, baton):
                if name not in seen:
                    seen.add(name)
                    order.append(name)
        for name in sampled_functions(baton, bench_server, tmp):
            if name not in seen:
                seen.add(name)
                order.append(name)
    print("\n".join(order))


if __name__ == "__main__":
    main()
