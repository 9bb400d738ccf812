"""Time two whole commands in turn (A B A B ...): wall seconds, and the CPU of every process each one started.

Usage::

    python benchmarks/paired.py -n 6 \\
        --a "alignsim sweep benchmarks/structure_x_kpi_4cell.toml --workers 2 --out /tmp/pA --no-progress" \\
        --b "$OTHER/bin/alignsim sweep benchmarks/structure_x_kpi_4cell.toml --workers 2 --out /tmp/pB --no-progress"

(``$OTHER``: a venv with the baseline commit installed, e.g. ``git worktree add /tmp/base COMMIT`` and
``python -m venv /tmp/baseV && /tmp/baseV/bin/pip install -e /tmp/base``; give A by its full path too.)

Each command is split as a shell splits words and run without a shell; its output is discarded, and
an ``--out`` folder it names is removed before each run, so every run computes everything. Running
A and B in turn and taking the ratio pair by pair keeps the comparison meaningful when this shared
machine's speed drifts (it does, by 10-30% from hour to hour).

CPU: this process makes itself a child subreaper (Linux ``PR_SET_CHILD_SUBREAPER``), so the processes a
command leaves behind (multiprocessing's forkserver, whose children are the pool workers) are handed
to it when the command exits, and it waits for them: ``resource.getrusage(RUSAGE_CHILDREN)`` then holds
the user and system time of every process the command started, workers included. (``/usr/bin/time``
reports only the processes the command itself waits for: here the driver.) Wall time ends when the
command exits, as a user sees it.

Prints one line per run and the medians, with the ratio A/B of each pair (median and range).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass

PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Run:
    """One run of a command: wall seconds (start to exit) and CPU seconds of all its processes."""

    wall_s: float
    cpu_s: float
    exit_code: int


def become_subreaper() -> bool:
    """Ask Linux to hand this process the orphans of its descendants; False where that is not available."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans(timeout_s: float = 30.0) -> None:
    """Wait for every remaining descendant handed to this process (a forkserver leaves within a second)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str]) -> Run:
    """Run ``argv`` once from a clean ``--out`` folder; its wall time and the CPU of all its processes."""
    if "--out" in argv:
        shutil.rmtree(argv[argv.index("--out") + 1], ignore_errors=True)
    cpu_before = children_cpu_s()
    start = time.monotonic()
    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    code = subprocess.run(argv, check=False, **quiet).returncode
    wall = time.monotonic() - start
    reap_orphans()
    return Run(wall, children_cpu_s() - cpu_before, code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5, help="pairs of runs (default 5)")
    parser.add_argument("--a", required=True, help="command A (the one measured)")
    parser.add_argument("--b", required=True, help="command B (the baseline)")
    args = parser.parse_args()
    if not become_subreaper():
        print("note: not a subreaper (not Linux?): CPU covers only the processes each command waits for")
    commands = {"A": shlex.split(args.a), "B": shlex.split(args.b)}
    runs: dict[str, list[Run]] = {"A": [], "B": []}
    for i in range(args.n):
        for name, argv in commands.items():
            run = run_once(argv)
            runs[name].append(run)
            print(f"{name} {i + 1}: wall {run.wall_s:7.2f} s  cpu {run.cpu_s:7.2f} s  exit {run.exit_code}", flush=True)
    for name, done in runs.items():
        wall = statistics.median(r.wall_s for r in done)
        cpu = statistics.median(r.cpu_s for r in done)
        print(f"{name}: median wall {wall:.2f} s (min {min(r.wall_s for r in done):.2f}), median cpu {cpu:.2f} s")
    ratios = [a.wall_s / b.wall_s for a, b in zip(runs["A"], runs["B"], strict=True)]
    cpu_ratios = [a.cpu_s / b.cpu_s for a, b in zip(runs["A"], runs["B"], strict=True)]
    print(
        f"A/B wall per pair: median {statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f});"
        f" cpu: median {statistics.median(cpu_ratios):.3f} ({min(cpu_ratios):.3f}-{max(cpu_ratios):.3f})"
    )


if __name__ == "__main__":
    main()
