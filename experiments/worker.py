"""The function every engine runs: one model run, returned as plain data (no pickled models).

It is top-level and importable so process pools and Dask workers can load it.

Worker processes of the local pool start with :func:`init_worker`. On Linux they are forked from a
forkserver that imported the model and loaded its kernels once (:mod:`alignsim.experiments.preload`),
so they first take the driver's environment (:func:`adopt_driver_environment`). They leave when the
driver dies, however it dies (kill -9 included): a watchdog thread exits the process as soon as the
driver's end of the pipe multiprocessing keeps to it closes, and on Linux the kernel also sends them
SIGKILL when their parent dies (``prctl(PR_SET_PDEATHSIG)``; for a forked worker that is the
forkserver, which leaves once the driver and the processes forked from it have). Ctrl-C is the
driver's to handle, so workers ignore SIGINT. They keep the memory a finished run frees for the next
one (:func:`_keep_freed_memory`).

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
_kernels_loaded = False


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


def init_worker(parent_pid: int, environ: dict[str, str] | None = None) -> None:
    """Initializer of a local pool worker: the driver's environment, leave when the driver dies, ignore Ctrl-C.

    Args:
        parent_pid: the driver's pid, taken before the pool started (a worker whose driver already
            died was orphaned before it got here and exits at once).
        environ: the driver's environment when the pool started (None: keep this process's).
    """
    global _pool_worker
    adopt_driver_environment(environ)
    follow_driver(parent_pid)
    _pool_worker = True
    _keep_freed_memory()
    _prepare_process()
    load_kernels_once()


def adopt_driver_environment(environ: dict[str, str] | None) -> None:
    """Take the driver's environment variables, as a spawned process has them.

    A process forked from the forkserver has the forkserver's, as they were when the driver's first
    pool started it; a variable set since (``ALIGNSIM_TEST_FAIL_RUNS``, say) would otherwise not reach
    it. (Its working folder is the driver's already: multiprocessing sets it.) Libraries imported in the
    forkserver read their variables at import, so e.g. a thread-count variable set later does not
    change theirs.
    """
    if environ is not None and environ != os.environ:
        os.environ.clear()
        os.environ.update(environ)


#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory() -> None:
    """Keep the memory a finished run frees for the next run (glibc), instead of returning it to the system.

    A run's account pool is about 23 MB of columns of half a megabyte each. By default glibc hands
    blocks that large back to the system when they are freed (or trims them off the heap), so every
    run faulted its pool in again page by page: about 1.6% of a run (``benchmarks/README.md``,
    "Workers forked from a preloaded server"). With a 32 MB mapping threshold and a 256 MB trim
    threshold the freed columns stay in the heap and the next run reuses them; the peak memory is
    that of the largest run, as before. Elsewhere (another C library, another system) nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no glibc (musl has no mallopt): the default behaviour stays
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 256 << 20)


def load_kernels_once() -> None:
    """:func:`_load_kernels`, unless this process (or the forkserver it was forked from) already did."""
    global _kernels_loaded
    if not _kernels_loaded:
        _load_kernels()
        _kernels_loaded = True


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
    """Leave when the driver dies: at once by the kernel when this process's parent dies, and by a watchdog.

    A spawned process's parent is the driver. A forked one's is the driver's forkserver, which outlives
    the driver as long as any process forked from it lives (they hold the pipe it watches): so the
    watchdog watches the driver itself, through the pipe multiprocessing keeps from it to every process
    it starts (its sentinel: end of file when the driver dies), and the process leaves; then the server
    does. Without that pipe (a process not started by multiprocessing), the watchdog polls the parent.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still works
    import multiprocessing

    driver = multiprocessing.parent_process()
    if driver is not None and driver.pid == parent_pid and driver.sentinel is not None:
        if not driver.is_alive():  # the driver died before this process got here
            os._exit(1)
        target, args = _watch_sentinel, (driver.sentinel,)
    else:
        if os.getppid() != parent_pid:  # the driver died before prctl took effect
            os._exit(1)
        target, args = _watch_parent, (parent_pid,)
    threading.Thread(target=target, args=args, name="alignsim-watchdog", daemon=True).start()


def _watch_sentinel(sentinel: int) -> None:
    """Exit the process as soon as the driver's end of its pipe to this process closes (the driver died)."""
    from multiprocessing.connection import wait

    wait([sentinel])
    os._exit(1)


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
