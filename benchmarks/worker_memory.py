"""Worker memory over many runs: RSS of every local-pool worker after every N finished runs.

Issue 11 asks that a worker's memory stay flat over 1,000 runs (at most 250 MiB RSS each). This script
runs the structure x KPI cells (default parameters, 260 weeks, a new replicate seed per run) through
the sweep runner's own pool and task function, and samples each worker process's resident set size
(``psutil.Process.memory_info().rss``) and its peak (``VmHWM`` in ``/proc/PID/status``, Linux) after
every ``--every`` finished runs. Samples are taken while the workers keep computing, as in a sweep,
so they include the model in progress.

Modes (each in a fresh pool):
    fixed     the runner's path: ``engines.open_executor`` (workers started by ``init_worker``:
              ``gc.freeze()`` after imports) and ``worker.run_task`` (``gc.collect()`` after every run,
              then ``gc.freeze()`` of what survived it).
    baseline  the same runs without either: a plain spawn pool calling ``worker._simulate``, i.e. the
              worker before issue 11 (finished models wait in reference cycles for the collector).

Usage::

    python benchmarks/worker_memory.py                        # both modes, 1000 runs, 2 workers
    python benchmarks/worker_memory.py --modes fixed --runs 200 --every 50 --weeks 104

Writes ``benchmarks/worker_memory.json`` (every sample) and ``benchmarks/worker_memory.md`` (a table),
atomically. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import psutil

from alignsim.experiments import worker
from alignsim.experiments.engines import default_workers, open_executor
from alignsim.experiments.fileio import atomic_write_json, atomic_write_text
from alignsim.experiments.metadata import git_commit, now_utc, versions
from alignsim.experiments.runner import tasks_for
from alignsim.experiments.spec import load_spec

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024
LIMIT_MIB = 250


def main(argv: list[str] | None = None) -> int:
    """Run the measurement; return the exit code (1 if a fixed-mode worker exceeded the limit)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs per mode (default 1000)")
    parser.add_argument("--every", type=int, default=100, help="sample after every N finished runs (default 100)")
    parser.add_argument("--workers", type=int, default=min(2, default_workers()), help="pool size (default 2)")
    parser.add_argument("--weeks", type=int, default=260, help="weeks per run (default 260)")
    parser.add_argument("--modes", default="fixed,baseline", help="comma-separated: fixed, baseline")
    parser.add_argument("--out", type=Path, default=HERE / "worker_memory.json", help="JSON output (.md beside it)")
    args = parser.parse_args(argv)

    replicates = -(-args.runs // 4)
    spec = load_spec("structure_x_kpi", overrides={"replicates": replicates, "weeks": args.weeks})
    tasks = list(itertools.islice(tasks_for(spec), args.runs))
    report: dict[str, Any] = {
        "what": "RSS of each local-pool worker after every N finished runs (structure x KPI cells, default params)",
        "runs": args.runs,
        "every": args.every,
        "workers": args.workers,
        "weeks": args.weeks,
        "limit_mib": LIMIT_MIB,
        "started_utc": now_utc(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": versions(),
        "git_commit": git_commit(),
        "modes": {},
    }
    for mode in args.modes.split(","):
        print(f"{mode}: {args.runs} runs of {args.weeks} weeks on {args.workers} workers", file=sys.stderr)
        report["modes"][mode] = measure(mode, tasks, args.workers, args.every)
        atomic_write_json(args.out, report)  # after each mode, so a long measurement is never lost
    atomic_write_text(args.out.with_suffix(".md"), markdown(report))
    print(markdown(report))
    fixed = report["modes"].get("fixed")
    return 1 if fixed and fixed["max_rss_mib"] > LIMIT_MIB else 0


def measure(mode: str, tasks: list[worker.Task], workers: int, every: int) -> dict[str, Any]:
    """Run ``tasks`` in a fresh pool of ``workers``; sample worker RSS after every ``every`` results."""
    start = time.perf_counter()
    samples: list[dict[str, Any]] = []
    if mode == "fixed":
        with open_executor("local", workers) as (pool, _):
            _drive(pool, worker.run_task, tasks, workers, every, samples, start)
    elif mode == "baseline":
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            _drive(pool, worker._simulate, tasks, workers, every, samples, start)
    else:
        raise SystemExit(f"unknown mode {mode!r}; allowed: fixed, baseline")
    seconds = time.perf_counter() - start
    first, last = samples[0], samples[-1]
    worker_runs = (last["runs_done"] - first["runs_done"]) / workers
    growth = (_mean(last["rss_mib"]) - _mean(first["rss_mib"])) / max(1.0, worker_runs) * 100
    return {
        "samples": samples,
        "seconds": round(seconds, 1),
        "runs_per_min": round(len(tasks) / seconds * 60, 1),
        "max_rss_mib": max(max(s["rss_mib"]) for s in samples),
        "max_peak_mib": max(max(v for v in s["peak_mib"] if v is not None) for s in samples),
        "growth_mib_per_100_runs_per_worker": round(growth, 2),
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _drive(
    pool: Executor, fn: Any, tasks: list[worker.Task], workers: int, every: int, samples: list, start: float
) -> None:
    window = 2 * workers
    queue = iter(tasks)
    pending = set()
    done = 0
    for task in itertools.islice(queue, window):
        pending.add(pool.submit(fn, task))
    while pending:
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            future.result()
            done += 1
            if done % every == 0:
                samples.append(_sample(pool, done, start))
                row = samples[-1]
                print(f"  {done:5d} runs  RSS MiB {row['rss_mib']}  peak {row['peak_mib']}", file=sys.stderr)
        for task in itertools.islice(queue, len(finished)):
            pending.add(pool.submit(fn, task))


def _sample(pool: Executor, done: int, start: float) -> dict[str, Any]:
    pids = sorted((getattr(pool, "_processes", None) or {}).keys())
    rss, peak = [], []
    for pid in pids:
        try:
            rss.append(round(psutil.Process(pid).memory_info().rss / MIB, 1))
        except psutil.Error:
            continue
        peak.append(_vm_hwm_mib(pid))
    return {
        "runs_done": done,
        "seconds": round(time.perf_counter() - start, 1),
        "rss_mib": rss,
        "peak_mib": peak,
        "driver_rss_mib": round(psutil.Process().memory_info().rss / MIB, 1),
    }


def _vm_hwm_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown table: one row per sample, RSS of each worker per mode."""
    modes = report["modes"]
    lines = [
        f"# Worker memory: {report['runs']} runs of {report['weeks']} weeks on {report['workers']} workers",
        "",
        f"Measured {report['started_utc']} by `python benchmarks/worker_memory.py` (git {report['git_commit']};"
        f" {report['machine']['cpus']} CPUs). RSS (MiB) of each pool worker after every {report['every']}"
        f" finished runs, sampled while the workers keep computing; limit {report['limit_mib']} MiB per worker.",
        "",
        "| runs done | " + " | ".join(f"{m}: RSS per worker" for m in modes) + " |",
        "|---|" + "---|" * len(modes),
    ]
    counts = sorted({s["runs_done"] for m in modes.values() for s in m["samples"]})
    for count in counts:
        cells = []
        for m in modes.values():
            row = next((s for s in m["samples"] if s["runs_done"] == count), None)
            cells.append(", ".join(f"{v:.0f}" for v in row["rss_mib"]) if row else "")
        lines.append(f"| {count} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| mode | max RSS (MiB) | max peak VmHWM (MiB) | RSS growth (MiB per 100 runs of one worker) | runs/min |",
    ]
    lines.append("|---|---|---|---|---|")
    for name, m in modes.items():
        growth = m["growth_mib_per_100_runs_per_worker"]
        lines.append(
            f"| {name} | {m['max_rss_mib']:.0f} | {m['max_peak_mib']:.0f} | {growth:.1f} | {m['runs_per_min']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
