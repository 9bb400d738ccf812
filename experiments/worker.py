"""The function every engine runs: one model run, returned as plain data (no pickled models).

It is top-level and importable so process pools (spawn start method) and Dask workers can load it.

Worker processes of the local pool start with :func:`init_worker`, which makes them leave when the
driver dies, however it dies (kill -9 included): on Linux the kernel sends them SIGKILL
(``prctl(PR_SET_PDEATHSIG)``), and everywhere a watchdog thread exits the process once its parent
is gone. Ctrl-C is the driver's to handle, so workers ignore SIGINT.

Memory stays flat over thousands of runs: each finished model, which sits in reference cycles
(model <-> agents, Mesa's registries), is collected right after its run (``gc.collect()``), and
in a local pool worker whatever survives that collection (the imported modules, numba's compiled
kernels loaded at the first run, the per-process caches) is moved out of the collector's reach
(``gc.freeze()``). So a collection only walks the objects of the run just finished, not the whole
process again (``benchmarks/README.md``, "Garbage collection in the workers").

Test-only hook: if the environment variable ``ALIGNSIM_TEST_FAIL_RUNS`` holds a comma-separated
list of run ids (e.g. ``"0-1,2-0"``), those runs raise ``RuntimeError`` before the model is built.
It exists so tests can check failure handling; never set it otherwise.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

FAIL_ENV = "ALIGNSIM_TEST_FAIL_RUNS"
#: how often a worker's watchdog checks that its parent is still alive (seconds)
WATCHDOG_SECONDS = 0.25
_PR_SET_PDEATHSIG = 1
_ready = False
_frozen = False
#: a local pool worker runs one model at a time and nothing else (a Dask worker also runs Dask's own
#: machinery, whose live objects must stay collectable): only there is the survivor of a run frozen
_pool_worker = False


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
    _prepare_process()
    try:
        return {"run_id": task.run_id, "ok": True, **_simulate(task)}
    except Exception as exc:  # noqa: BLE001 - a failing run is data, the sweep goes on
        return {
            "run_id": task.run_id,
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    finally:
        if _frozen:
            gc.collect()  # the finished model waits in reference cycles; without this RSS grows ~1 MiB per run
            if _pool_worker:  # nothing else runs here: what survived is long-lived, and need not be walked again
                gc.freeze()


def run_tasks(tasks: list[Task]) -> list[dict[str, Any]]:
    """Run several models in turn (a replicate's cells: one status-quo run serves them all); never raises.

    Returns:
        :func:`run_task`'s result for each task, in order.
    """
    return [run_task(task) for task in tasks]


def init_worker(parent_pid: int) -> None:
    """Initializer of a local pool worker: leave when ``parent_pid`` (the driver) dies, ignore Ctrl-C.

    Args:
        parent_pid: the driver's pid, taken before the pool started (a worker whose parent already
            changed was orphaned before it got here and exits at once).
    """
    global _pool_worker
    follow_driver(parent_pid)
    _pool_worker = True
    _prepare_process()
    _load_kernels()


def _load_kernels() -> None:
    """Run a two-week model once, so this worker imports the model and loads its compiled kernels now.

    Numba loads a cached kernel at its first call (about 0.3-0.6 s for all of them); done here, a
    worker started early does it while the driver is still checking the design. Nothing of the run
    is kept: the caches it touches are pure functions of their keys (a real run's seed and
    parameters replace them), and the model is released and collected like every other. It never
    raises: should the model fail, the runs fail too and are recorded with their tracebacks, where a
    failing initializer would break the pool and hide why.
    """
    try:
        from alignsim.model import GTMModel

        model = GTMModel(seed=0, weeks=2, start_policy="default")
    except Exception:  # noqa: BLE001 - a model that cannot even start: every run will fail and say why, as data
        return
    try:
        _run_sampled(model, 1)  # the path a run takes: its collection too
        model.summary()
    except Exception:  # noqa: BLE001, S110 - the same: a broken model must not break the pool here
        pass
    finally:
        _release(model)
    gc.collect()
    gc.freeze()  # as after every run: what survives (the kernels) is long-lived


def follow_driver(parent_pid: int) -> None:
    """In a process the driver started (a pool worker, a chart helper): ignore Ctrl-C, which is the driver's
    to handle, and leave as soon as ``parent_pid`` (the driver) dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still works
    if os.getppid() != parent_pid:  # the driver died before prctl took effect
        os._exit(1)
    watchdog = threading.Thread(target=_watch_parent, args=(parent_pid,), name="alignsim-watchdog", daemon=True)
    watchdog.start()


def _watch_parent(parent_pid: int) -> None:
    """Exit the process as soon as its parent is no longer ``parent_pid`` (it was re-parented: the driver died)."""
    while os.getppid() == parent_pid:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)


def _prepare_process() -> None:
    """Once per process: import the model and, in a worker process, freeze what is imported.

    Only processes started to run models (a local pool worker, a Dask worker process) are frozen and
    collected after every run; when runs execute inside the driver (a Dask cluster with threads), the
    driver's own garbage collection is left alone.
    """
    global _ready, _frozen
    if _ready:
        return
    import multiprocessing

    import alignsim.model  # noqa: F401 - imported for its side effect: the modules the runs need

    if multiprocessing.parent_process() is not None:
        gc.collect()
        gc.freeze()
        _frozen = True
    _ready = True


def _simulate(task: Task) -> dict[str, Any]:
    if task.run_id in os.environ.get(FAIL_ENV, "").split(","):
        raise RuntimeError(f"test-only failure injected by {FAIL_ENV} for run {task.run_id}")
    from alignsim.model import GTMModel

    model = GTMModel(seed=task.seed, **task.params)
    if _frozen:  # a status-quo run built inside it is garbage in reference cycles now: free it before the run
        gc.collect()
    try:
        series = _run_sampled(model, task.ts_every_weeks)
        summary = model.summary()
        result = {
            "summary": {m: float(summary[m]) for m in task.metrics},
            "timeseries": long_rows(series, task.ts_metrics),
        }
    finally:
        _release(model)
    keys = series_keys(int(task.params["weeks"]), task.ts_every_weeks, task.ts_metrics)
    if [(week, metric) for week, metric, _ in result["timeseries"]] != keys:
        # the store accepts exactly these rows on resume: never write a run it would reject
        raise RuntimeError(f"run {task.run_id}: the model's weekly series lack some of the sampled weeks or metrics")
    return result


def _run_sampled(model: Any, every_weeks: int) -> Any:
    """Run ``model``; return its weekly series at the weeks a run stores (every ``every_weeks``-th), indexed by week.

    The model's DataCollector collects only those weeks (and its policy collector nothing): a run
    stores no other week and no policy, and collecting every week cost about 3% of a run. The
    values are those of a weekly collection: the week's metrics, read right after its step.
    """
    model.collecting = False  # no weekly collection inside step(); the sampled weeks are collected here
    weeks: list[int] = []

    def collect(week: int) -> None:
        if every_weeks > 0 and week % every_weeks == 0:
            model.datacollector.collect(model)
            weeks.append(week)

    model.run(on_week=collect)
    frame = model.datacollector.get_model_vars_dataframe()
    frame.index = weeks
    return frame


def series_keys(weeks: int, every_weeks: int, metrics: tuple[str, ...]) -> list[tuple[int, str]]:
    """(week, metric) of every time-series row a run of ``weeks`` weeks writes, in the order written."""
    if every_weeks <= 0:
        return []
    return [(week, m) for week in range(every_weeks, weeks + 1, every_weeks) for m in metrics]


def long_rows(frame: Any, metrics: tuple[str, ...]) -> list[tuple[int, str, float]]:
    """Long-format rows (week, metric, value) of a series indexed by week (:func:`_run_sampled`'s), week by week."""
    weeks = [int(w) for w in frame.index]
    columns = [m for m in metrics if m in frame.columns]
    picked = frame[columns]
    values = [picked[m].to_numpy().tolist() for m in columns]  # one conversion per column, not one .at per value
    return [(week, m, float(values[j][i])) for i, week in enumerate(weeks) for j, m in enumerate(columns)]


def _release(model: Any) -> None:
    """Drop Mesa 3.3's class-level reference to a finished model (``Agent._ids``) so memory stays flat."""
    try:
        from mesa.agent import Agent

        Agent._ids.pop(model, None)
    except (ImportError, AttributeError, TypeError):
        pass
