"""Speed and memory benchmarks of alignsim on this machine (issue 4, "Speed and scaling, measured").

    python benchmarks/bench.py            # full: ~5-6 min on 2 cores, writes benchmarks/results.json
                                          #       and benchmarks/profile.txt
    python benchmarks/bench.py --quick    # < 1 min, writes benchmarks/results-quick.json (no profile.txt)
    python benchmarks/bench.py --rev 13cae03 --only single,scaling,profile   # "before" figures of an
                                          # older commit's model/ and agents/ (exported with git archive)

Measurements (details and figures in benchmarks/README.md):

1. ``single``  - one default 260-week run, ``GTMModel(seed).run().summary()``, single process:
                 median and IQR of wall time over several seeds (after one warm-up run).
2. ``pool``    - runs per minute of the 2 x 2 (structure x KPI) on all local cores with a
                 ``concurrent.futures.ProcessPoolExecutor`` (spawn), warm and including start-up;
   ``cli``     - the same through ``alignsim compare --reps 10 --workers N`` (whole command timed).
3. ``scaling`` - 1x, 4x, 16x head count and lead volume, each size in a fresh subprocess:
                 median wall time per run, peak RSS (ru_maxrss), tracemalloc peak, time(k)/time(1)/k.
4. ``memory``  - RSS after every 50 of 500 sequential default runs in one process (``run()``, which
                 releases the model from ``mesa.Agent._ids``), and the same with ``step()`` in a
                 loop and no release, to show the leak.
5. ``profile`` - cProfile (top functions by cumulative and self time) and pyinstrument (if
                 installed) of one default run.

The results file is written atomically (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import cProfile
import datetime as dt
import io
import json
import multiprocessing as mp
import os
import platform
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from benchmarks import workers  # noqa: E402

CELLS = [(s, k) for s in ("assembly_line", "pod") for k in ("siloed", "shared")]

FULL = {
    "single_runs": 9,
    "pool_reps": 10,
    "cli_reps": 10,
    "scale_reps": {1: 5, 4: 3, 16: 3},
    "memory_runs": 500,
    "memory_every": 50,
    "gc_runs": 100,
    "gc_every": 10,
    "leak_runs": 100,
    "leak_every": 10,
    "profile": True,
}
QUICK = {
    "single_runs": 5,
    "pool_reps": 2,
    "cli_reps": 0,
    "scale_reps": {1: 1, 4: 1, 16: 1},
    "memory_runs": 20,
    "memory_every": 10,
    "gc_runs": 10,
    "gc_every": 5,
    "leak_runs": 15,
    "leak_every": 5,
    "profile": False,
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def spread(values: list[float]) -> dict[str, float]:
    """Median, quartiles (numpy linear interpolation), min, max, n."""
    a = np.asarray(values, dtype=float)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return {
        "median": float(med),
        "q1": float(q1),
        "q3": float(q3),
        "iqr": float(q3 - q1),
        "min": float(a.min()),
        "max": float(a.max()),
        "n": len(a),
    }


# ------------------------------------------------------------------ machine load during a section
class Section:
    """Context manager: wall time of a section and how busy the machine was with OTHER work meanwhile.

    ``other_cores`` = (system-wide busy CPU seconds - CPU seconds of this process and its waited-for
    children) / wall seconds: the average number of cores other programs used. On a shared machine a
    value near 0 means the figures are clean; near the core count means they are contended.
    """

    def __init__(self, name: str, store: dict[str, Any]) -> None:
        self.name, self.store = name, store

    @staticmethod
    def _busy() -> float:
        import psutil

        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    @staticmethod
    def _own() -> float:
        import resource

        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    def __enter__(self) -> Section:
        self.t0, self.busy0, self.own0 = time.perf_counter(), self._busy(), self._own()
        self.load0 = os.getloadavg()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.t0
        busy, own = self._busy() - self.busy0, self._own() - self.own0
        self.store[self.name] = {
            "wall_s": wall,
            "own_cpu_s": own,
            "machine_busy_cores": busy / wall,
            "other_cores": max(busy - own, 0.0) / wall,
            "loadavg1_start": self.load0,
            "loadavg1_end": os.getloadavg()[0],
        }


# ------------------------------------------------------------------ environment
def environment() -> dict[str, Any]:
    import mesa
    import pandas
    import scipy

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "mesa": mesa.__version__,
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "model_code_modified": bool(git("status", "--porcelain", "--", "model", "agents")),
    }


# ------------------------------------------------------------------ 1. single run
def bench_single(n: int) -> dict[str, Any]:
    workers.warm()
    workers.timed_run(0)  # warm-up at full length, not counted
    runs = [workers.timed_run(seed) for seed in range(1, n + 1)]
    return {
        "what": "GTMModel(seed).run().summary(), defaults (assembly_line/siloed, 260 weeks), single process",
        "seeds": [r["seed"] for r in runs],
        "seconds": spread([r["seconds"] for r in runs]),
        "cpu_s": spread([r["cpu_s"] for r in runs]),
        "build_s": spread([r["build_s"] for r in runs]),
        "run_s": spread([r["run_s"] for r in runs]),
        "summary_s": spread([r["summary_s"] for r in runs]),
        "rows_in_pool": spread([r["rows"] for r in runs]),
    }


# ------------------------------------------------------------------ 2. pool and CLI
def bench_pool(reps: int) -> dict[str, Any]:
    n_workers = os.cpu_count() or 1
    tasks = [(1000 + r, s, k) for r in range(reps) for s, k in CELLS]
    t0 = time.perf_counter()
    with cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=mp.get_context("spawn")) as pool:
        pids = set(pool.map(workers.warm, range(n_workers)))
        t1 = time.perf_counter()
        futures = [pool.submit(workers.timed_run, seed, s, k) for seed, s, k in tasks]
        runs = [f.result() for f in futures]
        t2 = time.perf_counter()
    t3 = time.perf_counter()
    n = len(runs)
    return {
        "what": f"2 x 2 x {reps} replicates, ProcessPoolExecutor(max_workers={n_workers}, spawn)",
        "workers": n_workers,
        "runs": n,
        "warm_workers_seen": len(pids),
        "startup_s": t1 - t0,
        "warm_wall_s": t2 - t1,
        "total_wall_s": t3 - t0,
        "runs_per_min_warm": 60.0 * n / (t2 - t1),
        "runs_per_min_incl_startup": 60.0 * n / (t3 - t0),
        "per_run_in_worker_s": spread([r["seconds"] for r in runs]),
        "per_run_in_worker_cpu_s": spread([r["cpu_s"] for r in runs]),
        "per_cell_in_worker_s": {
            f"{s}/{k}": spread([r["seconds"] for r in runs if (r["structure"], r["kpi"]) == (s, k)]) for s, k in CELLS
        },
    }


def bench_cli(reps: int) -> dict[str, Any]:
    n_workers = os.cpu_count() or 1
    exe = shutil.which("alignsim")
    if exe is None:
        return {"status": "skipped", "reason": "no 'alignsim' command on PATH"}
    out = tempfile.mkdtemp(prefix="alignsim-bench-")
    cmd = [exe, "compare", "--reps", str(reps), "--workers", str(n_workers), "--out", out, "--no-progress"]
    try:
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        shutil.rmtree(out, ignore_errors=True)
        return {"status": "failed", "command": " ".join(cmd[1:]), "reason": "timed out after 600 s"}
    text = proc.stdout + proc.stderr
    shutil.rmtree(out, ignore_errors=True)
    shown = "alignsim " + " ".join(cmd[1:]).replace(out, "<tmp>")
    if proc.returncode != 0:
        return {"status": "failed", "command": shown, "returncode": proc.returncode, "output_tail": text[-2000:]}
    done = re.search(r"(\d+)/(\d+) runs done \((\d+) now, (\d+) reused\), (\d+) failed, ([\d.]+) s", text)
    runs = 4 * reps
    result = {
        "status": "ok",
        "source": "CLI",
        "command": shown,
        "runs": runs,
        "wall_s": wall,
        "runs_per_min_whole_command": 60.0 * runs / wall,
    }
    if done:
        result.update(
            {
                "runs_done": int(done.group(1)),
                "runs_now": int(done.group(3)),
                "runs_failed": int(done.group(5)),
                "cli_reported_run_phase_s": float(done.group(6)),
                "runs_per_min_cli_run_phase": 60.0 * int(done.group(3)) / float(done.group(6)),
            }
        )
    return result


# ------------------------------------------------------------------ 3. scaling, 4. memory (fresh subprocesses)
def subprocess_json(args: list[str], timeout: float = 900) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "workers.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"workers.py {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_scaling(reps: dict[int, int]) -> dict[str, Any]:
    sizes = []
    for k, r in reps.items():
        log(f"scaling: k={k}, {r} run(s) in a fresh subprocess")
        res = subprocess_json(["scale", "--k", str(k), "--reps", str(r)])
        res["seconds"] = spread([run["seconds"] for run in res["runs"]])
        res["cpu_s"] = spread([run["cpu_s"] for run in res["runs"]])
        res["rows_in_pool"] = spread([run["rows"] for run in res["runs"]])
        res["peak_rss_above_baseline_mb"] = res["peak_maxrss_mb"] - res["baseline_rss_mb"]
        sizes.append(res)
    base = sizes[0]
    for s in sizes:
        s["time_ratio"] = s["seconds"]["median"] / base["seconds"]["median"]
        s["time_ratio_per_k"] = s["time_ratio"] / s["k"]
        s["cpu_ratio_per_k"] = s["cpu_s"]["median"] / base["cpu_s"]["median"] / s["k"]
        s["tracemalloc_ratio_per_k"] = s["tracemalloc_peak_mb"] / base["tracemalloc_peak_mb"] / s["k"]
        s["rows_ratio_per_k"] = s["rows_in_pool"]["median"] / base["rows_in_pool"]["median"] / s["k"]
    return {
        "what": "head count (n_marketers, n_sdrs, n_aes, n_csms) and lead volume (prospects_per_week, "
        "initial_customers) x k; defaults otherwise (assembly_line/siloed, 260 weeks)",
        "sizes": sizes,
    }


def bench_memory(runs: int, every: int, mode: str, gc_each: bool = False) -> dict[str, Any]:
    gc_note = ", gc.collect() after each" if gc_each else ""
    log(f"memory: {runs} sequential runs, mode={mode}{gc_note}, fresh subprocess")
    res = subprocess_json(
        ["memory", "--runs", str(runs), "--every", str(every), "--mode", mode] + (["--gc-each"] if gc_each else []),
        timeout=1200,
    )
    samples = res["samples"]
    first, last = samples[0], samples[-1]
    # slope over the second half of the readings (after allocator warm-up), MiB per 100 runs
    half = samples[len(samples) // 2 :]
    x = np.array([s["runs"] for s in half], dtype=float)
    y = np.array([s["rss_mb"] for s in half], dtype=float)
    slope = float(np.polyfit(x, y, 1)[0] * 100) if len(half) >= 2 else float("nan")
    settled = [s["rss_mb"] for s in samples[1:]]  # readings after the first `every` runs
    res.update(
        {
            "rss_first_mb": first["rss_mb"],
            "rss_last_mb": last["rss_mb"],
            "rss_growth_mb": last["rss_mb"] - first["rss_mb"],
            "rss_after_first_reading_mb": settled[0] if settled else float("nan"),
            "rss_settled_min_mb": min(settled) if settled else float("nan"),
            "rss_settled_max_mb": max(settled) if settled else float("nan"),
            "rss_growth_after_first_reading_kib_per_run": 1024 * (last["rss_mb"] - settled[0]) / (runs - every)
            if len(settled) > 1
            else float("nan"),
            "slope_second_half_mb_per_100_runs": slope,
            "models_in_agent_ids_last": last["models_in_agent_ids"],
            "per_run_s": spread(res["seconds"]),
        }
    )
    del res["seconds"]
    return res


# ------------------------------------------------------------------ 5. profile
def bench_profile(write_to: str | None, code: str, top: int = 25) -> dict[str, Any]:
    from alignsim.model import GTMModel

    workers.warm()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    GTMModel(seed=1).run().summary()
    prof.disable()
    profiled_s = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    total = stats.total_tt

    def rows(key: str) -> list[dict[str, Any]]:
        entries = sorted(stats.stats.items(), key=lambda kv: kv[1][3 if key == "cumulative" else 2], reverse=True)
        out = []
        for (file, line, func), (_cc, nc, tt, ct, _callers) in entries[:top]:
            short = file
            for base in (os.environ.get(workers.CODE_ENV), ROOT):
                if base and file.startswith(base + os.sep):
                    short = os.path.relpath(file, base)
                    break
            out.append(
                {
                    "function": f"{short}:{line}({func})",
                    "calls": nc,
                    "self_s": tt,
                    "cumulative_s": ct,
                    "self_pct": 100 * tt / total,
                    "cumulative_pct": 100 * ct / total,
                }
            )
        return out

    by_cum, by_self = rows("cumulative"), rows("tottime")
    text = io.StringIO()
    text.write("# Profile of one default run: GTMModel(seed=1).run().summary() (assembly_line/siloed, 260 weeks)\n")
    text.write(f"# model code: {code}\n")
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    text.write(f"# {now}, python {platform.python_version()}\n")
    text.write(
        f"# cProfile: {profiled_s:.3f} s wall under the profiler (deterministic; inflates many-small-call code)\n\n"
    )
    for title, key in (("cumulative time", "cumulative"), ("self (total) time", "tottime")):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(top)
        body = buf.getvalue()
        body = body[body.find("   ncalls") :] if "   ncalls" in body else body
        text.write(f"## cProfile, top {top} by {title}\n\n{body}\n")
    pyinstr = None
    try:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        GTMModel(seed=1).run().summary()
        profiler.stop()
        pyinstr = profiler.output_text(unicode=False, color=False, show_all=False)
        text.write("## pyinstrument (statistical, 0.5 ms interval; less overhead than cProfile)\n\n")
        text.write(pyinstr)
    except ImportError:
        text.write("## pyinstrument not installed (pip install -e '.[bench]'); cProfile only\n")
    if write_to:
        atomic_write(write_to, text.getvalue())
    return {
        "profiler": "cProfile" + (" + pyinstrument" if pyinstr else ""),
        "profiled_wall_s": profiled_s,
        "profiled_total_s": total,
        "top_cumulative": by_cum[:15],
        "top_self": by_self[:15],
        "file": os.path.relpath(write_to, ROOT) if write_to else None,
    }


# ------------------------------------------------------------------ output
def atomic_write(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def markdown(res: dict[str, Any]) -> str:
    env, load = res["environment"], res["load"]

    def other(section: str) -> str:
        return f"{load[section]['other_cores']:.2f}" if section in load else ""

    lines = [
        f"Machine: {env['cpu']}, {env['cores']} cores; Python {env['python']}, numpy {env['numpy']}, "
        f"Mesa {env['mesa']}; {env['date']}; commit {env['git_commit']}"
        + (" (model/agents modified)" if env["model_code_modified"] and not res.get("rev") else "")
        + (f" -- MODEL CODE OF REVISION {res['rev']} (git archive)" if res.get("rev") else "")
        + (" -- QUICK mode (few repetitions)" if res["quick"] else ""),
        "",
        'Wall times are medians with the interquartile range (IQR = q3 - q1). "other load" = average cores '
        "used by OTHER programs during that measurement (0 = machine otherwise idle).",
        "",
        "| # | measurement | figure | spread / detail | process | other load (cores) |",
        "|---|---|---|---|---|---|",
    ]
    if "single" in res:
        one, s = res["single"], res["single"]["seconds"]
        lines.append(
            f"| 1 | one default 260-week run, `GTMModel(seed).run().summary()` | median **{s['median']:.3f} s** "
            f"| IQR {s['iqr']:.3f} s [{s['q1']:.3f}, {s['q3']:.3f}], min-max {s['min']:.3f}-{s['max']:.3f}, "
            f"n={s['n']} seeds; CPU median {one['cpu_s']['median']:.3f} s; build {one['build_s']['median']:.3f} + "
            f"run {one['run_s']['median']:.3f} + summary {one['summary_s']['median']:.3f} s "
            f"| single process | {other('single')} |"
        )
    if "pool" in res:
        p = res["pool"]
        w, wc = p["per_run_in_worker_s"], p["per_run_in_worker_cpu_s"]
        lines.append(
            f"| 2a | 2 x 2 (structure x KPI), `ProcessPoolExecutor` | **{p['runs_per_min_warm']:.0f} runs/min** "
            f"(warm pool); {p['runs_per_min_incl_startup']:.0f} runs/min incl. pool start-up "
            f"| {p['runs']} runs in {p['warm_wall_s']:.1f} s (+{p['startup_s']:.1f} s start-up); per run in a worker: "
            f"wall median {w['median']:.3f} s (IQR {w['iqr']:.3f}), CPU median {wc['median']:.3f} s "
            f"| pool of {p['workers']} processes | {other('pool')} |"
        )
    c = res.get("cli", {})
    if not c:
        pass
    elif c.get("status") == "ok":
        extra = (
            f"; the CLI's own run-phase timer: {c['cli_reported_run_phase_s']:.1f} s = "
            f"{c['runs_per_min_cli_run_phase']:.0f} runs/min"
            if "cli_reported_run_phase_s" in c
            else ""
        )
        lines.append(
            f"| 2b | 2 x 2 through the CLI: `{c['command']}` | **{c['runs_per_min_whole_command']:.0f} runs/min** "
            f"(whole command) | {c['runs']} runs, {c['wall_s']:.1f} s wall incl. interpreter start-up, pool, "
            f"statistics, CSVs and charts{extra} | CLI (experiments' local process pool) | {other('cli')} |"
        )
    else:
        lines.append(f"| 2b | 2 x 2 through the CLI | {c.get('status', 'skipped')} | {c.get('reason', '')} | CLI | |")
    for size in res.get("scaling", {}).get("sizes", []):
        t, pr = size["seconds"], size["params"]
        lines.append(
            f"| 3 | size {size['k']}x: {pr['n_marketers']}/{pr['n_sdrs']}/{pr['n_aes']}/{pr['n_csms']} staff, "
            f"{pr['prospects_per_week']:g} prospects/wk, {pr['initial_customers']} initial customers "
            f"| median **{t['median']:.2f} s/run**; time(k)/time(1)/k = **{size['time_ratio_per_k']:.2f}** "
            f"(CPU {size['cpu_ratio_per_k']:.2f}) | n={t['n']}, IQR {t['iqr']:.3f} s; "
            f"peak RSS {size['peak_maxrss_mb']:.0f} MiB (process; {size['baseline_rss_mb']:.0f} after imports); "
            f"tracemalloc peak {size['tracemalloc_peak_mb']:.1f} MiB "
            f"(peak/peak(1)/k {size['tracemalloc_ratio_per_k']:.2f}); {size['rows_in_pool']['median']:.0f} pool rows "
            f"| fresh subprocess, single process | {other('scaling')} |"
        )
    for key, tag, label in (
        ("memory_release", "4a", "`run()` (calls `release()`)"),
        ("memory_gc", "4b", "`run()` + `gc.collect()` after each run"),
        ("memory_step", "4c", "`step()` loop, NO `release()`"),
    ):
        if key not in res:
            continue
        m = res[key]
        lines.append(
            f"| {tag} | RSS over {m['runs']} sequential default runs, {label} "
            f"| **{m['rss_first_mb']:.0f} -> {m['rss_last_mb']:.0f} MiB**; after run {m['every']}: "
            f"{m['rss_settled_min_mb']:.0f}-{m['rss_settled_max_mb']:.0f} MiB "
            f"| every {m['every']} runs: "
            + ", ".join(f"{x['rss_mb']:.0f}" for x in m["samples"])
            + f" MiB; growth after run {m['every']}: {m['rss_growth_after_first_reading_kib_per_run']:+.0f} KiB/run; "
            f"models held in `Agent._ids` at the end: {m['models_in_agent_ids_last']}; "
            f"per run median {m['per_run_s']['median']:.3f} s | one process | {other(key)} |"
        )
    if "profile" in res:
        prof = res["profile"]
        top = "; ".join(f"`{r['function'].split('/')[-1]}` {r['self_pct']:.0f}%" for r in prof["top_self"][:5])
        lines.append(
            f"| 5 | profile of one default run ({prof['profiler']}) | top 5 by self time | {top} "
            f"| single process | {other('profile')} |"
        )
    return "\n".join(lines)


SECTIONS = ("single", "pool", "cli", "scaling", "memory", "profile")


def export_revision(rev: str) -> tuple[str, str]:
    """``git archive`` model/ and agents/ of ``rev`` into a temporary folder; returns (folder, full hash)."""
    full = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    folder = tempfile.mkdtemp(prefix=f"alignsim-{rev}-")
    archive = subprocess.run(["git", "archive", full, "model", "agents"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
    return folder, full


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="alignsim speed and memory benchmarks (issue 4)")
    parser.add_argument("--quick", action="store_true", help="few repetitions (< 1 min); writes results-quick.json")
    parser.add_argument(
        "--out",
        help="results file (default benchmarks/results.json, or results-quick.json); "
        "the profile goes next to it (results-X.json -> profile-X.txt), not in --quick",
    )
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--no-cli", action="store_true", help="skip the 'alignsim compare' measurement")
    parser.add_argument(
        "--rev",
        help="benchmark model/ and agents/ of this git revision (for before/after); the CLI measurement is skipped",
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"--only: unknown section(s) {sorted(unknown)}; choose from {','.join(SECTIONS)}")
    default_name = "results-quick.json" if args.quick else (f"results-{args.rev}.json" if args.rev else "results.json")
    out = os.path.abspath(args.out or os.path.join(HERE, default_name))
    profile_path = None
    if cfg["profile"]:
        stem = os.path.splitext(os.path.basename(out))[0]
        suffix = stem[len("results") :] if stem.startswith("results") else "-" + stem
        profile_path = os.path.join(os.path.dirname(out), f"profile{suffix}.txt")
    started = time.perf_counter()
    res: dict[str, Any] = {
        "quick": args.quick,
        "rev": None,
        "sections": sorted(only),
        "config": {**cfg, "scale_reps": {str(k): v for k, v in cfg["scale_reps"].items()}},
    }
    code_dir = None
    if args.rev:
        code_dir, full = export_revision(args.rev)
        workers.use_code(code_dir)
        res["rev"] = f"{args.rev} ({full[:12]})"
    source = workers.model_source()
    if code_dir and not source.startswith(code_dir + os.sep):
        raise RuntimeError(f"--rev {args.rev}: GTMModel was imported from {source}, not from the exported revision")
    log(f"model code: {source}")
    res["environment"] = environment()
    res["environment"]["model_source"] = source
    load: dict[str, Any] = {}
    res["load"] = load
    try:
        if "single" in only:
            log(f"single run x {cfg['single_runs']}")
            with Section("single", load):
                res["single"] = bench_single(cfg["single_runs"])
        if "pool" in only:
            log(f"process pool, 2 x 2 x {cfg['pool_reps']}")
            with Section("pool", load):
                res["pool"] = bench_pool(cfg["pool_reps"])
        if "cli" in only:
            if cfg["cli_reps"] and not args.no_cli and not args.rev:
                log(f"alignsim compare --reps {cfg['cli_reps']}")
                with Section("cli", load):
                    res["cli"] = bench_cli(cfg["cli_reps"])
            else:
                why = (
                    "--quick" if args.quick else ("--rev (the CLI runs the installed code)" if args.rev else "--no-cli")
                )
                res["cli"] = {"status": "skipped", "reason": why}
        if "scaling" in only:
            with Section("scaling", load):
                res["scaling"] = bench_scaling(cfg["scale_reps"])
        if "memory" in only:
            with Section("memory_release", load):
                res["memory_release"] = bench_memory(cfg["memory_runs"], cfg["memory_every"], "run")
            with Section("memory_gc", load):
                res["memory_gc"] = bench_memory(cfg["gc_runs"], cfg["gc_every"], "run", gc_each=True)
            with Section("memory_step", load):
                res["memory_step"] = bench_memory(cfg["leak_runs"], cfg["leak_every"], "step")
        if "profile" in only:
            log("profile")
            with Section("profile", load):
                env = res["environment"]
                code = res["rev"] or (
                    f"working tree at {env['git_commit']}"
                    + (" (model/agents modified)" if env["model_code_modified"] else "")
                )
                res["profile"] = bench_profile(profile_path, code)
    finally:
        if code_dir:
            shutil.rmtree(code_dir, ignore_errors=True)
    res["bench_wall_s"] = time.perf_counter() - started
    targets = {}
    if "single" in res:
        targets["default run median under 0.5 s"] = res["single"]["seconds"]["median"] < 0.5
    if "scaling" in res:
        targets["cost no faster than linear (time ratio/k <= 1.1 at every k)"] = all(
            s["time_ratio_per_k"] <= 1.1 for s in res["scaling"]["sizes"]
        )
    if "memory_release" in res:
        m = res["memory_release"]
        targets[
            "memory flat with release (no model left in Agent._ids; RSS after the first reading grows < 20 KiB/run)"
        ] = m["models_in_agent_ids_last"] == 0 and m["rss_growth_after_first_reading_kib_per_run"] < 20
    res["targets"] = targets
    res["markdown"] = markdown(res)
    atomic_write(out, json.dumps(res, indent=2) + "\n")
    print(res["markdown"])
    print()
    for name, ok in targets.items():
        print(f"- target {name}: {'met' if ok else 'NOT met'}")
    print(
        f"\nbench wall time {res['bench_wall_s']:.0f} s; results -> {os.path.relpath(out, os.getcwd())}"
        + (f"; profile -> {os.path.relpath(profile_path, os.getcwd())}" if profile_path and "profile" in res else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
