"""What a design will cost before it starts: runs, time, memory per worker and disk, against limits.

The per-run cost model below was measured on the development machine (2 cores, Python 3.11,
Mesa 3.3.1; see ``experiments/README.md``) and is deliberately rough (it errs on the high side).
Each cell that starts from the status quo also pays for that status-quo run, once per replicate for
cells that share it, and ``workers`` workers are assumed ``workers ** 0.4`` times as fast as one
(:func:`speedup`). It only decides whether a design needs ``--yes``:

- more than :data:`MAX_RUNS` runs,
- more than :data:`MAX_SECONDS` estimated wall time,
- more memory (workers x peak per run + the driver) than is available now,
- more disk than is free where the results go.

What drives the cost of one run (all measured): the horizon (the company grows, so time per week
grows too: 0.1 s for 52 weeks, 0.6 s for 260, 3 s for 520, 15 s for 1,040 at the defaults), the
prospect stream (1e-6 s and 1.2e-4 MB per prospect-week), the customer book (5e-7 s per
customer-week, 2.3 KB per customer) and the headcount the staffing plan hires from the starting
ARR (2.2e-6 s per person-week, 3.4 KB per person).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignsim.experiments.errors import UserError
from alignsim.experiments.fileio import free_bytes

MAX_RUNS = 20_000
MAX_SECONDS = 2 * 3600
DRIVER_MB = 250.0
PROCESS_MB = 130.0
DEFAULT_HEADS = 50
#: a run in a worker costs this much more than the simulation alone (summary, time series, transport, start-up):
#: fitted to the full reproduction at e0f2bbf (2,925 s measured on 2 workers; 2,259 s estimated without it)
WORKER_OVERHEAD = 1.3


@dataclass(frozen=True)
class Estimate:
    """Expected cost of a design.

    Attributes:
        runs: runs to compute.
        workers: parallel workers assumed.
        seconds: wall time on ``workers`` workers.
        worker_mb: peak memory of one worker (its most expensive run), MiB.
        memory_mb: peak memory of the whole sweep (workers x worker_mb + the driver), MiB.
        disk_bytes: result files written.
        available_mb: memory available now (None if unknown or the workers are remote).
        free_disk: free bytes where the results go (None if unknown).
    """

    runs: int
    workers: int
    seconds: float
    worker_mb: float
    memory_mb: float
    disk_bytes: int
    available_mb: float | None
    free_disk: int | None

    def problems(self) -> list[str]:
        """Every limit this design is past, in words."""
        found = []
        if self.runs > MAX_RUNS:
            found.append(f"{self.runs:,} runs (more than {MAX_RUNS:,})")
        if self.seconds > MAX_SECONDS:
            limit = duration(MAX_SECONDS)
            found.append(f"about {duration(self.seconds)} on {self.workers} worker(s) (more than {limit})")
        if self.available_mb is not None and self.memory_mb > self.available_mb:
            found.append(
                f"about {self.memory_mb / 1024:,.1f} GiB of memory ({self.workers} worker(s) x"
                f" {self.worker_mb / 1024:,.2f} GiB; {self.available_mb / 1024:,.1f} GiB available)"
            )
        if self.free_disk is not None and 2 * self.disk_bytes > self.free_disk:
            found.append(f"about {_size(2 * self.disk_bytes)} of disk while writing ({_size(self.free_disk)} free)")
        return found

    def line(self) -> str:
        """One line: runs, time, memory, disk."""
        return (
            f"{self.runs:,} runs, about {duration(self.seconds)} on {self.workers} worker(s),"
            f" up to {self.worker_mb / 1024:,.2f} GiB per worker, {_size(self.disk_bytes)} of results"
        )


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.4 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.1f} h"


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:,.0f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"


def starting_heads(p: dict[str, Any]) -> float:
    """Headcount the staffing plan asks for at the starting ARR (the starting team with ``hiring = fixed``)."""
    team = p["n_marketers"] + p["n_sdrs"] + p["n_aes"] + p["n_csms"]
    if p.get("hiring", "plan") != "plan":
        return float(team)
    share_mm = max(0.0, 1.0 - p["share_smb"] - p["share_enterprise"])
    acv = p["share_smb"] * p["acv_smb_usd"] + share_mm * p["acv_mm_usd"] + p["share_enterprise"] * p["acv_ent_usd"]
    arr = p["initial_customers"] * acv
    csms = arr / p["csm_coverage_arr_usd"]
    cost = min(p["cost_marketer_usd_per_year"], p["cost_sdr_usd_per_year"], p["cost_ae_usd_per_year"])
    sales = p["sm_budget_share_of_arr"] * arr / max(cost, 1.0)
    return max(float(team), csms + sales)


def replicate_seconds(cell_params: list[dict[str, Any]]) -> float:
    """Expected seconds (one core) of one replicate of every cell: the runs, plus each distinct status-quo run.

    Cells that start from the status quo first replay its learning; cells with equal status-quo
    parameters share that run within a replicate (the runner hands a replicate's cells to one worker).
    """
    from alignsim.model.model import starts_from_status_quo, status_quo_params

    status_quo = {}
    for p in cell_params:
        if starts_from_status_quo(p):
            sq = status_quo_params(p)
            status_quo[tuple(sorted(sq.items()))] = sq  # the key of the status-quo cache
    return sum(run_seconds(p) for p in cell_params) + sum(run_seconds(sq) for sq in status_quo.values())


def speedup(workers: int) -> float:
    """How many times faster ``workers`` busy workers finish than one: ``workers ** 0.4``.

    Measured on the 2-core development machine: two busy processes each ran at ~2/3 of the speed of
    one, so 2 workers gave ~1.3x (benchmarks/README.md); the power law carries that to more cores and
    errs on the slow side where cores do not share so much.
    """
    return max(1, workers) ** 0.4


def run_seconds(p: dict[str, Any]) -> float:
    """Expected seconds of one run with full parameters ``p`` (one core; without its status-quo run)."""
    w = float(p["weeks"])
    base = 0.0021 * w + 0.59 * max(0.0, (w / 260.0) ** 2.4 - w / 260.0)
    prospects = 1.0e-6 * w * max(0.0, p["prospects_per_week"] - 300.0)
    customers = 5.0e-7 * w * max(0.0, p["initial_customers"] - 600.0)
    heads = 2.2e-6 * w * max(0.0, starting_heads(p) - DEFAULT_HEADS)
    return 0.05 + base + prospects + customers + heads


def run_megabytes(p: dict[str, Any]) -> float:
    """Expected peak memory (MiB) of a worker process doing one run with full parameters ``p``."""
    w = float(p["weeks"])
    growth = 0.55 * max(0.0, w - 200.0)
    prospects = 1.2e-4 * w * max(0.0, p["prospects_per_week"] - 300.0)
    customers = 2.3e-3 * p["initial_customers"]
    heads = 3.4e-3 * starting_heads(p)
    return PROCESS_MB + growth + prospects + customers + heads


def run_bytes(p: dict[str, Any], n_metrics: int, ts_every: int, n_ts: int) -> int:
    """Bytes one run adds to runs.csv and timeseries.csv."""
    row = 40 + 22 * n_metrics
    samples = (int(p["weeks"]) // ts_every) * n_ts if ts_every > 0 else 0
    return row + 40 * samples


def available_megabytes() -> float | None:
    """Memory available to new processes now (MemAvailable), MiB; None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return psutil.virtual_memory().available / 2**20
    except (ImportError, OSError, AttributeError):
        return None


def estimate_design(
    cell_params: list[dict[str, Any]],
    replicates: int,
    workers: int,
    out: Path | None,
    n_metrics: int = 0,
    ts_every: int = 0,
    n_ts: int = 0,
    todo: int | None = None,
    remote: bool = False,
) -> Estimate:
    """Cost of running ``replicates`` runs of every cell on ``workers`` workers (``todo`` runs if given)."""
    runs = len(cell_params) * replicates if todo is None else todo
    share = runs / max(1, len(cell_params) * replicates)
    per_rep = replicate_seconds(cell_params) * WORKER_OVERHEAD
    seconds = per_rep * replicates * share / speedup(min(workers, max(runs, 1)))
    worker_mb = max((run_megabytes(p) for p in cell_params), default=PROCESS_MB)
    parallel = max(1, min(workers, runs))
    disk = int(sum(run_bytes(p, n_metrics, ts_every, n_ts) for p in cell_params) * replicates * share)
    return Estimate(
        runs=runs,
        workers=workers,
        seconds=seconds,
        worker_mb=worker_mb,
        memory_mb=DRIVER_MB + (0 if remote else parallel * worker_mb),
        disk_bytes=disk,
        available_mb=None if remote else available_megabytes(),
        free_disk=free_bytes(out) if out is not None else None,
    )


def estimate_spec(spec: Any, workers: int, out: Path | None, todo: int | None = None, remote: bool = False) -> Estimate:
    """:func:`estimate_design` for a validated :class:`alignsim.experiments.spec.Spec`."""
    return estimate_design(
        spec.cell_params,
        spec.replicates,
        workers,
        out,
        n_metrics=len(spec.metrics),
        ts_every=spec.ts_every_weeks,
        n_ts=len(spec.ts_metrics),
        todo=todo,
        remote=remote,
    )


def combine(estimates: list[Estimate]) -> Estimate:
    """One estimate for designs run one after the other (a reproduction plan)."""
    if not estimates:
        return Estimate(0, 1, 0.0, PROCESS_MB, DRIVER_MB, 0, None, None)
    first = estimates[0]
    return Estimate(
        runs=sum(e.runs for e in estimates),
        workers=first.workers,
        seconds=sum(e.seconds for e in estimates),
        worker_mb=max(e.worker_mb for e in estimates),
        memory_mb=max(e.memory_mb for e in estimates),
        disk_bytes=sum(e.disk_bytes for e in estimates),
        available_mb=first.available_mb,
        free_disk=first.free_disk,
    )


def check(estimate: Estimate, what: str, yes: bool) -> None:
    """Refuse a design past a limit unless ``yes``.

    Raises:
        UserError: naming every limit passed and what to do.
    """
    problems = estimate.problems()
    if problems and not yes:
        raise UserError(
            f"{what} is too large to start without --yes: {'; '.join(problems)}; rerun with --yes to start it anyway,"
            " or use fewer replicates, factor levels or weeks"
        )


def default_workers() -> int:
    """Cores this process may use (the engine may cap it further)."""
    try:
        from alignsim.experiments.engines import default_workers as engine_default

        return engine_default()
    except ImportError:  # pragma: no cover
        return os.cpu_count() or 1
