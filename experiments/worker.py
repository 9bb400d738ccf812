"""The function every engine runs: one model run, returned as plain data (no pickled models).

It is top-level and importable so process pools (spawn start method) and Dask workers can load it.

Test-only hook: if the environment variable ``ALIGNSIM_TEST_FAIL_RUNS`` holds a comma-separated
list of run ids (e.g. ``"0-1,2-0"``), those runs raise ``RuntimeError`` before the model is built.
It exists so tests can check failure handling; never set it otherwise.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from typing import Any

FAIL_ENV = "ALIGNSIM_TEST_FAIL_RUNS"


@dataclass(frozen=True)
class Task:
    """One run to do.

    Attributes:
        run_id: ``"<cell>-<replicate>"``.
        cell: cell index.
        replicate: replicate index.
        seed: model seed.
        params: full model parameters.
        metrics: summary metrics to keep.
        ts_every_weeks: time-series sampling period (0 = none).
        ts_metrics: time-series metrics to keep.
    """

    run_id: str
    cell: int
    replicate: int
    seed: int
    params: dict[str, Any]
    metrics: tuple[str, ...]
    ts_every_weeks: int
    ts_metrics: tuple[str, ...]


def run_id(cell: int, replicate: int) -> str:
    """The id of run (cell, replicate)."""
    return f"{cell}-{replicate}"


def run_task(task: Task) -> dict[str, Any]:
    """Run one model; never raises.

    Returns:
        ``{"run_id", "ok": True, "summary": {metric: float}, "timeseries": [(week, metric, value)]}``
        or ``{"run_id", "ok": False, "error": str, "traceback": str}``.
    """
    try:
        return {"run_id": task.run_id, "ok": True, **_simulate(task)}
    except Exception as exc:  # noqa: BLE001 - a failing run is data, the sweep goes on
        return {
            "run_id": task.run_id,
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }


def _simulate(task: Task) -> dict[str, Any]:
    if task.run_id in os.environ.get(FAIL_ENV, "").split(","):
        raise RuntimeError(f"test-only failure injected by {FAIL_ENV} for run {task.run_id}")
    from alignsim.model import GTMModel

    model = GTMModel(seed=task.seed, **task.params)
    try:
        model.run()
        summary = model.summary()
        result = {
            "summary": {m: float(summary[m]) for m in task.metrics},
            "timeseries": sample_timeseries(model.timeseries(), task.ts_every_weeks, task.ts_metrics),
        }
    finally:
        _release(model)
    return result


def sample_timeseries(frame: Any, every_weeks: int, metrics: tuple[str, ...]) -> list[tuple[int, str, float]]:
    """Long-format rows (week, metric, value) at weeks every_weeks, 2*every_weeks, ... (none if 0)."""
    if every_weeks <= 0:
        return []
    weeks = [int(w) for w in frame.index if int(w) % every_weeks == 0]
    columns = [m for m in metrics if m in frame.columns]
    picked = frame.loc[weeks, columns]
    return [(week, m, float(picked.at[week, m])) for week in weeks for m in columns]


def _release(model: Any) -> None:
    """Drop Mesa 3.3's class-level reference to a finished model (``Agent._ids``) so memory stays flat."""
    try:
        from mesa.agent import Agent

        Agent._ids.pop(model, None)
    except (ImportError, AttributeError, TypeError):
        pass
