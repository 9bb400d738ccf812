"""Common random numbers (CRN): how much variance does pairing replicates across cells remove?

Usage::

    python benchmarks/crn.py                          # 4 cells x 40 replicates, adaptive on and off
    python benchmarks/crn.py --reps 60 --weeks 260 --metric firm_value --adaptive off
    python benchmarks/crn.py --adaptive on --workers 2 --out /tmp/crn.json
    python benchmarks/crn.py --param hiring=fixed --param exploration_sd=0.04 --out /tmp/crn-fixed.json
                                                      # any model parameter, for every run (diagnostics)

What it measures
----------------
The 2 x 2 organisation design (structure in {assembly_line, pod} x kpi in {siloed, shared}) is run
with ``GTMModel(structure=s, kpi=k, seed=r, adaptive=...).run().summary()`` for replicates
``r = first_seed .. first_seed + reps - 1``: replicate ``r`` uses seed ``r`` in every cell (common
random numbers). For every contrast ``D_r = sum_j c_j * Y_{j,r}`` of the cells ``j`` (coefficients
``c``), with ``Y`` the chosen metric:

* **paired variance** ``var_r(D_r)``: the variance of one replicate's contrast under CRN;
* **unpaired variance** ``sum_j c_j**2 * var_r(Y_j)``: what independent seeds per cell would give
  (for a two-cell contrast ``var(A) + var(B)``);
* **saving factor** = unpaired / paired: how many times fewer replicates CRN needs for the same
  precision; with a BCa bootstrap 95% CI (``scipy.stats.bootstrap``, replicates resampled jointly
  across the four cells, fixed ``--boot-seed``);
* **corr**: the correlation across replicates between the contrast's positive and negative side
  (``corr(A_r, B_r)`` for a two-cell contrast ``A - B``; for the averaged contrasts the mean of the
  two plus-cells against the mean of the two minus-cells; for the interaction ``PH + AS`` against
  ``PS + AH``);
* ``saving_arms`` (JSON only): ``(var(plus side) + var(minus side)) / paired variance``, i.e. independent
  seeds between the two sides of the contrast but one seed shared by the two cells averaged on a side;
  equal to the saving for a two-cell contrast. For averaged contrasts the saving above also counts the
  averaging over two independently seeded cells, which CRN forgoes (e.g. with learning off the KPI
  cells are identical, so averaging them with one seed gains nothing: the saving halves);
* **replicates needed** for a 95% CI half-width of 5% of the mean of the cells in the contrast,
  paired and unpaired: the smallest ``n`` with ``t(0.975, n - 1) * sd / sqrt(n) <= 0.05 * |mean|``
  (``sd`` the paired or unpaired standard deviation above; the unpaired figure is per cell).

Contrasts: pod - assembly_line within siloed, within shared and averaged over KPI; shared - siloed
within assembly_line, within pod and averaged over structure; and the interaction
``(pod,shared - pod,siloed) - (assembly,shared - assembly,siloed)``. The goal is a saving of >= 4x;
below 2x is a defect of the CRN design to explain.

By default the whole design runs twice: with learning (``adaptive=True``, staff explore with their own
streams) and without (``adaptive=False``, every agent keeps the default policy), since exploration noise
adds variance that pairing can only partly remove. The metrics reported are ``--metric`` (default
``firm_value``) plus ``arr`` and ``ltv_cohort``.

Runs go to a ``concurrent.futures.ProcessPoolExecutor`` (spawn start method, which Mesa sets: the
worker function sits at module level and the entry point is guarded). A run that raises is recorded
with its traceback and left out; a replicate is used only where all four cells of that configuration
returned a finite value. The script prints Markdown tables and writes ``benchmarks/crn.json``
atomically (temporary file in the same folder, then ``os.replace``) with every figure, the per-run
values, the commit (``-dirty`` when tracked files differ from it), versions and timings; it is strict JSON
(a non-finite figure, e.g. the saving of two identical cells, is written as null).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

STRUCTURES = ("assembly_line", "pod")
KPIS = ("siloed", "shared")
#: the four cells in a fixed order; contrast coefficients below follow it
CELLS: tuple[tuple[str, str], ...] = tuple((s, k) for s in STRUCTURES for k in KPIS)
EXTRA_METRICS = ("arr", "ltv_cohort")
GOAL, DEFECT = 4.0, 2.0
HALF_WIDTH_SHARE = 0.05


def _coef(**weights: float) -> tuple[float, ...]:
    """Contrast coefficients over :data:`CELLS` from keyword weights named ``AS``, ``AH``, ``PS``, ``PH``.

    ``A``/``P`` = assembly_line/pod, ``S``/``H`` = siloed/shared.
    """
    names = ("AS", "AH", "PS", "PH")
    unknown = set(weights) - set(names)
    if unknown:
        raise ValueError(f"unknown cells {sorted(unknown)}")
    return tuple(float(weights.get(n, 0.0)) for n in names)


#: contrast name -> coefficients over CELLS (assembly/siloed, assembly/shared, pod/siloed, pod/shared)
CONTRASTS: dict[str, tuple[float, ...]] = {
    "pod - assembly, within siloed": _coef(PS=1, AS=-1),
    "pod - assembly, within shared": _coef(PH=1, AH=-1),
    "pod - assembly (avg over KPI)": _coef(PS=0.5, PH=0.5, AS=-0.5, AH=-0.5),
    "shared - siloed, within assembly_line": _coef(AH=1, AS=-1),
    "shared - siloed, within pod": _coef(PH=1, PS=-1),
    "shared - siloed (avg over structure)": _coef(AH=0.5, PH=0.5, AS=-0.5, PS=-0.5),
    "interaction (pod x shared)": _coef(PH=1, PS=-1, AH=-1, AS=1),
}


# ------------------------------------------------------------------ worker (runs in the pool)
def run_one(task: dict[str, Any]) -> dict[str, Any]:
    """Run one cell of one replicate and return the requested metrics (or the traceback).

    Module level so that spawned pool workers can unpickle it by name.

    Args:
        task: ``config`` ("on"/"off"), ``structure``, ``kpi``, ``seed``, ``weeks``, ``adaptive``,
            ``metrics`` (names of summary entries to return) and optional ``params`` (further model
            parameters, e.g. ``{"hiring": "fixed"}``).

    Returns:
        The task's identifying fields plus ``values`` (metric -> float), ``seconds`` (wall time of build,
        run and summary) and ``error`` (the formatted traceback, or ``None``).
    """
    out = {k: task[k] for k in ("config", "structure", "kpi", "seed")}
    start = time.perf_counter()
    try:
        from alignsim.model.model import GTMModel

        model = GTMModel(
            structure=task["structure"],
            kpi=task["kpi"],
            seed=task["seed"],
            weeks=task["weeks"],
            adaptive=task["adaptive"],
            **task.get("params", {}),
        )
        summary = model.run().summary()
        out["values"] = {m: float(summary[m]) for m in task["metrics"]}
        out["error"] = None
    except Exception:  # a failing run is reported with its traceback; the benchmark goes on
        out["values"] = {}
        out["error"] = traceback.format_exc()
    out["seconds"] = time.perf_counter() - start
    out["pid"] = os.getpid()
    return out


# ------------------------------------------------------------------ statistics
def _ratio_statistic(coef: np.ndarray) -> Callable[..., np.ndarray]:
    """Vectorised statistic for ``scipy.stats.bootstrap``: unpaired / paired variance of the contrast.

    Args:
        coef: contrast coefficients over the four cells.

    Returns:
        ``statistic(*samples, axis=-1)``, one sample per cell (replicates along ``axis``), giving the
        saving factor of each resample.
    """

    def statistic(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        ys = [np.moveaxis(np.asarray(s, dtype=float), axis, -1) for s in samples]
        contrast = sum(c * y for c, y in zip(coef, ys, strict=True))
        paired = np.var(contrast, axis=-1, ddof=1)
        unpaired = sum(c * c * np.var(y, axis=-1, ddof=1) for c, y in zip(coef, ys, strict=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            return unpaired / paired

    return statistic


def replicates_needed(sd: float, half_width: float, cap: int = 10**7) -> int | None:
    """Smallest n >= 2 with ``t(0.975, n - 1) * sd / sqrt(n) <= half_width`` (None if not finite).

    Args:
        sd: standard deviation of one replicate's estimate (same units as ``half_width``).
        half_width: wanted 95% CI half-width, > 0.
        cap: give up above this many replicates (returns ``cap``).

    Returns:
        The number of replicates (per cell, for the unpaired design), or None if ``sd`` or
        ``half_width`` is not a positive finite number.
    """
    from scipy.stats import t

    if not (np.isfinite(sd) and np.isfinite(half_width) and half_width > 0):
        return None
    if sd == 0:
        return 2
    n = max(2, math.ceil((1.959963984540054 * sd / half_width) ** 2))
    while n < cap and t.ppf(0.975, n - 1) * sd / math.sqrt(n) > half_width:
        n += 1
    return n


def verdict(ratio: float, paired: float) -> str:
    """Against the issue's bar: >= 4x ok, 2-4x below goal, < 2x a defect; zero paired variance = identical cells."""
    if paired == 0:
        return "ok (cells identical)"
    return "ok" if ratio >= GOAL else ("below goal" if ratio >= DEFECT else "DEFECT (<2x)")


def contrast_stats(y: np.ndarray, coef: tuple[float, ...], n_boot: int, boot_seed: int) -> dict[str, Any]:
    """CRN figures of one contrast.

    Args:
        y: metric values, shape (4 cells in :data:`CELLS` order, replicates); all finite.
        coef: contrast coefficients over the cells.
        n_boot: bootstrap resamples.
        boot_seed: seed of the bootstrap generator (fixed: the CI is reproducible).

    Returns:
        Dict with the contrast's mean and s.d., paired and unpaired variance, their ratio and its
        bootstrap CI, the correlation of the two sides, and the replicates needed paired and unpaired.
    """
    from scipy.stats import bootstrap

    c = np.asarray(coef, dtype=float)
    n = y.shape[1]
    contrast = c @ y
    paired = float(np.var(contrast, ddof=1))
    unpaired = float(np.sum(c * c * np.var(y, axis=1, ddof=1)))
    ratio = unpaired / paired if paired > 0 else math.inf
    plus = np.clip(c, 0, None) @ y
    minus = np.clip(-c, 0, None) @ y
    arms = float(np.var(plus, ddof=1) + np.var(minus, ddof=1))
    corr = float(np.corrcoef(plus, minus)[0, 1]) if plus.std() > 0 and minus.std() > 0 else math.nan
    ci: list[float | None] = [None, None]
    ci_method = None
    if n >= 3 and paired > 0:
        statistic = _ratio_statistic(c)
        for method in ("BCa", "percentile"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = bootstrap(
                    tuple(y),
                    statistic,
                    n_resamples=n_boot,
                    paired=True,
                    vectorized=True,
                    method=method,
                    confidence_level=0.95,
                    rng=np.random.default_rng(boot_seed),
                )
            low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
            if np.isfinite(low) and np.isfinite(high):
                ci, ci_method = [low, high], method
                break
    cells_mean = float(y[c != 0].mean())
    half_width = HALF_WIDTH_SHARE * abs(cells_mean)
    return {
        "n": int(n),
        "coefficients": dict(zip(("AS", "AH", "PS", "PH"), c.tolist(), strict=True)),
        "mean": float(contrast.mean()),
        "sd_paired": math.sqrt(paired),
        "var_paired": paired,
        "var_unpaired": unpaired,
        "saving": ratio,
        "saving_ci95": ci,
        "saving_ci_method": ci_method,
        "var_unpaired_arms": arms,
        "saving_arms": arms / paired if paired > 0 else math.inf,
        "corr": corr,
        "cells_mean": cells_mean,
        "half_width_target": half_width,
        "reps_needed_paired": replicates_needed(math.sqrt(paired), half_width),
        "reps_needed_unpaired": replicates_needed(math.sqrt(unpaired), half_width),
        "verdict": verdict(ratio, paired),
    }


def analyse(runs: list[dict[str, Any]], config: str, metric: str, n_boot: int, boot_seed: int) -> dict[str, Any]:
    """All contrasts of ``metric`` in one configuration, over the replicates complete in all four cells.

    Args:
        runs: every run's result (from :func:`run_one`).
        config: "on" or "off" (adaptive).
        metric: summary metric name.
        n_boot: bootstrap resamples.
        boot_seed: bootstrap seed.

    Returns:
        Dict with the seeds used, the seeds dropped (a cell failed or was not finite), per-cell mean and
        s.d., and :func:`contrast_stats` per contrast.
    """
    table: dict[int, dict[tuple[str, str], float]] = {}
    for r in runs:
        if r["config"] == config and r["error"] is None:
            table.setdefault(r["seed"], {})[(r["structure"], r["kpi"])] = r["values"].get(metric, math.nan)
    seeds_all = sorted({r["seed"] for r in runs if r["config"] == config})
    used = [s for s in seeds_all if all(np.isfinite(table.get(s, {}).get(cell, math.nan)) for cell in CELLS)]
    y = np.array([[table[s][cell] for s in used] for cell in CELLS], dtype=float).reshape(len(CELLS), len(used))
    out: dict[str, Any] = {
        "seeds_used": used,
        "seeds_dropped": [s for s in seeds_all if s not in used],
        "cells": {
            f"{s}/{k}": {"mean": float(y[j].mean()), "sd": float(y[j].std(ddof=1))}
            if len(used) > 1
            else {"mean": None, "sd": None}
            for j, (s, k) in enumerate(CELLS)
        },
        "cell_corr": np.corrcoef(y).round(4).tolist() if len(used) > 2 else None,
        "contrasts": {},
    }
    if len(used) >= 3:
        out["contrasts"] = {name: contrast_stats(y, coef, n_boot, boot_seed) for name, coef in CONTRASTS.items()}
    return out


# ------------------------------------------------------------------ provenance and output
def machine_busy_s() -> float | None:
    """System-wide busy CPU seconds since boot, from /proc/stat (None where it is not available)."""
    try:
        with open("/proc/stat") as fh:
            fields = [float(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # user..steal; guest is inside user


def _git(*args: str) -> str:
    """Output of ``git args`` in the repository ("" if git fails)."""
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def model_code_hash() -> str:
    """SHA-1 of the working-tree diff of model/ and agents/ against HEAD (detects edits during the run)."""
    return hashlib.sha1(_git("diff", "HEAD", "--", "model", "agents").encode()).hexdigest()[:12]


def provenance() -> dict[str, Any]:
    """Commit (``-dirty`` if tracked files differ from it), changed files and package versions."""
    import mesa
    import pandas
    import scipy

    commit = _git("rev-parse", "--short", "HEAD")
    changed = _git("diff", "--name-only", "HEAD").splitlines()  # tracked files only (staged or not)
    return {
        "commit": commit + ("-dirty" if changed else "") if commit else "unknown",
        "changed_files": changed,
        "model_diff_sha1": model_code_hash(),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "mesa": mesa.__version__,
    }


def finite_json(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (strict JSON: a saving of inf reads null)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_json(v) for v in obj]
    return obj


def _fmt(x: float | None, digits: int = 2) -> str:
    """A figure for the table ("-" for None, "inf"/"nan" as such)."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-" if x is None else str(x)
    return f"{x:.{digits}f}"


def _money(x: float) -> str:
    """USD figure: millions from 1e5 up, whole units below."""
    return f"{x / 1e6:,.1f}M" if abs(x) >= 1e5 else f"{x:,.0f}"


def markdown(config: str, metric: str, res: dict[str, Any]) -> str:
    """Markdown table of one configuration x metric."""
    n = len(res["seeds_used"])
    dropped = res["seeds_dropped"]
    lines = [
        f"### adaptive={config}, {metric} (n = {n} replicates" + (f"; dropped seeds {dropped})" if dropped else ")"),
        "",
        "| contrast | mean diff | saving (unpaired/paired var) | 95% CI | corr(+, -) | reps needed paired | "
        "reps needed unpaired (per cell) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in res["contrasts"].items():
        low, high = c["saving_ci95"]
        ci = f"[{_fmt(low)}, {_fmt(high)}]" if low is not None else "-"
        lines.append(
            f"| {name} | {_money(c['mean'])} | {_fmt(c['saving'])}x | {ci} | {_fmt(c['corr'], 3)} | "
            f"{c['reps_needed_paired']} | {c['reps_needed_unpaired']} | {c['verdict']} |"
        )
    cells = ", ".join(
        f"{cell}: {_money(v['mean'])} (sd {_money(v['sd'])})"
        for cell, v in res["cells"].items()
        if v["mean"] is not None
    )
    lines += ["", f"Cell means: {cells}."]
    return "\n".join(lines)


# ------------------------------------------------------------------ main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reps", type=int, default=40, help="replicates per cell (default 40)")
    ap.add_argument("--first-seed", type=int, default=0, help="seed of replicate 0 (default 0: seeds 0..reps-1)")
    ap.add_argument("--weeks", type=int, default=260, help="horizon of each run in weeks (default 260)")
    ap.add_argument("--metric", default="firm_value", help="main metric (default firm_value; arr, ltv_cohort too)")
    ap.add_argument(
        "--adaptive", choices=("both", "on", "off"), default="both", help="learning on, off or both (default)"
    )
    ap.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra model parameter for every run (repeatable; VALUE read as JSON, else a string),\n"
        "e.g. --param hiring=fixed --param exploration_sd=0.05",
    )
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="pool size (default os.cpu_count())")
    ap.add_argument("--boot", type=int, default=9999, help="bootstrap resamples (default 9999)")
    ap.add_argument("--boot-seed", type=int, default=20240601, help="bootstrap seed (default 20240601)")
    ap.add_argument("--out", default=os.path.join(HERE, "crn.json"), help="results file (default benchmarks/crn.json)")
    args = ap.parse_args(argv)
    if args.reps < 3:
        ap.error("--reps must be >= 3")
    params: dict[str, Any] = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            ap.error(f"--param wants NAME=VALUE, got {item!r}")
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value
    args.params = params
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the design, print the tables, write the JSON; returns the exit status (1 if every run failed)."""
    args = parse_args(argv)
    configs = ("on", "off") if args.adaptive == "both" else (args.adaptive,)
    metrics = list(dict.fromkeys((args.metric, *EXTRA_METRICS)))
    seeds = list(range(args.first_seed, args.first_seed + args.reps))
    tasks = [
        {
            "config": cfg,
            "structure": s,
            "kpi": k,
            "seed": r,
            "weeks": args.weeks,
            "adaptive": cfg == "on",
            "metrics": metrics,
            "params": args.params,
        }
        for cfg in configs
        for r in seeds
        for s, k in CELLS
    ]
    meta_start = provenance()
    print(
        f"crn: {len(tasks)} runs ({len(configs)} config x 4 cells x {args.reps} reps, {args.weeks} weeks) "
        f"on {args.workers} workers; params {args.params}; commit {meta_start['commit']}",
        file=sys.stderr,
    )
    t0, c0, busy0 = time.perf_counter(), os.times(), machine_busy_s()
    runs: list[dict[str, Any]] = []
    with cf.ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(run_one, t) for t in tasks]
        for i, fut in enumerate(cf.as_completed(futures), 1):
            res = fut.result()
            runs.append(res)
            if res["error"]:
                print(
                    f"  run failed: {res['config']} {res['structure']}/{res['kpi']} seed {res['seed']}:",
                    file=sys.stderr,
                )
                print(res["error"], file=sys.stderr)
            if i % 20 == 0 or i == len(tasks):
                print(f"  {i}/{len(tasks)} runs, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    wall = time.perf_counter() - t0
    c1, busy1 = os.times(), machine_busy_s()
    own_cpu = sum(c1[:4]) - sum(c0[:4])  # this process and its (joined) pool workers
    runs.sort(key=lambda r: (r["config"], r["seed"], CELLS.index((r["structure"], r["kpi"]))))
    meta_end_hash = model_code_hash()

    t_an = time.perf_counter()
    results = {cfg: {m: analyse(runs, cfg, m, args.boot, args.boot_seed) for m in metrics} for cfg in configs}
    analysis_s = time.perf_counter() - t_an

    failures = [
        {k: r[k] for k in ("config", "structure", "kpi", "seed", "error")} for r in runs if r["error"] is not None
    ]
    seconds = np.array([r["seconds"] for r in runs])
    timing = {
        "wall_s": wall,
        "analysis_s": analysis_s,
        "runs": len(runs),
        "runs_per_min": len(runs) / wall * 60.0,
        "run_s_median": float(np.median(seconds)),
        "run_s_iqr": float(np.subtract(*np.percentile(seconds, [75, 25]))),
        "run_s_by_config": {
            cfg: float(np.median([r["seconds"] for r in runs if r["config"] == cfg])) for cfg in configs
        },
        "children_cpu_s": (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system),
        "own_cpu_s": own_cpu,
        # average number of cores OTHER programs kept busy during the runs (0 = machine otherwise idle)
        "other_cores": max(busy1 - busy0 - own_cpu, 0.0) / wall if busy0 is not None and busy1 is not None else None,
    }
    doc = {
        "what": "common-random-numbers saving (var unpaired / var paired) of the 2x2 design contrasts",
        "command": " ".join([os.path.relpath(__file__, ROOT), *(argv if argv is not None else sys.argv[1:])]),
        "settings": {
            "reps": args.reps,
            "seeds": seeds,
            "weeks": args.weeks,
            "params": args.params,
            "metrics": metrics,
            "configs": {cfg: {"adaptive": cfg == "on"} for cfg in configs},
            "workers": args.workers,
            "bootstrap": {"n_resamples": args.boot, "seed": args.boot_seed, "method": "BCa (percentile fallback)"},
            "half_width_share": HALF_WIDTH_SHARE,
            "goal": GOAL,
            "defect_below": DEFECT,
        },
        "provenance": {**meta_start, "model_diff_sha1_end": meta_end_hash},
        "model_code_changed_during_run": meta_end_hash != meta_start["model_diff_sha1"],
        "timing": timing,
        "failures": failures,
        "results": results,
        "runs": [
            {k: r[k] for k in ("config", "structure", "kpi", "seed", "values", "seconds")}
            for r in runs
            if r["error"] is None
        ],
    }
    from alignsim.experiments.fileio import atomic_write_text  # the project's atomic writer (0644, fsync, replace)

    atomic_write_text(Path(args.out), json.dumps(finite_json(doc), indent=1, allow_nan=False) + "\n")

    print(
        f"## Common random numbers: saving = var(unpaired) / var(paired), {args.weeks} weeks"
        + (f", params {args.params}" if args.params else "")
        + "\n\n"
        f"commit {meta_start['commit']}; numpy {meta_start['numpy']}, scipy {meta_start['scipy']}, "
        f"mesa {meta_start['mesa']}; {len(runs)} runs in {wall:.0f} s on {args.workers} workers "
        f"(median {timing['run_s_median']:.2f} s per run"
        + (f"; other programs used {timing['other_cores']:.1f} cores" if timing["other_cores"] is not None else "")
        + f"); {len(failures)} failed"
        + ("; MODEL CODE CHANGED DURING THE RUN" if doc["model_code_changed_during_run"] else "")
        + "\n"
    )
    for cfg in configs:
        for m in metrics:
            print(markdown(cfg, m, results[cfg][m]) + "\n")
    print(f"wrote {os.path.relpath(args.out, os.getcwd())}", file=sys.stderr)
    return 1 if len(failures) == len(runs) else 0


if __name__ == "__main__":
    sys.exit(main())
