"""Execution engines behind one ``concurrent.futures.Executor`` interface.

- ``local``: a ``ProcessPoolExecutor`` (spawn) on ``workers`` cores (default: all). Its workers start with
  :func:`alignsim.experiments.worker.init_worker`, so they leave as soon as the driver dies, even by
  kill -9. If the sweep stops early (Ctrl-C, SIGTERM, an error), running workers are terminated at once
  instead of finishing their runs, and no process is left behind.
- ``dask``: ``distributed.Client(scheduler).get_executor(pure=False)`` on an existing cluster
  (``--scheduler tcp://HOST:PORT``), or a ``LocalCluster`` of ``workers`` single-threaded processes.
  ``pure=False`` so that identical-looking tasks are never merged.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

from alignsim.experiments.errors import UserError
from alignsim.experiments.worker import init_worker

ENGINES = ("local", "dask")
#: cgroup v2 and v1 CPU quota files (a container limited with --cpus has fewer cores than it sees)
CGROUP_FILES = (Path("/sys/fs/cgroup/cpu.max"), Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
_told: set[tuple[int, int]] = set()
#: local pools started ahead of open_executor by started_early, by worker count
_STARTED: dict[int, ProcessPoolExecutor] = {}


def default_workers() -> int:
    """All cores this process may use: its CPU affinity, capped by a container's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    quota = _cgroup_cores()
    return max(1, min(cores, quota) if quota else cores)


def _cgroup_cores() -> int | None:
    """Cores allowed by the cgroup CPU quota (rounded up), or None without a quota."""
    try:
        v2 = CGROUP_FILES[0]
        if v2.is_file():
            limit, period = v2.read_text().split()[:2]
            return None if limit == "max" else math.ceil(int(limit) / int(period))
        v1 = CGROUP_FILES[1]
        if v1.is_file():
            limit = int(v1.read_text())
            period = int((v1.parent / "cpu.cfs_period_us").read_text())
            return None if limit <= 0 else math.ceil(limit / period)
    except (OSError, ValueError, ZeroDivisionError):
        return None
    return None


def worker_count(engine: str, workers: int | None, scheduler: str | None) -> int:
    """Worker processes to start: ``workers`` capped at the available cores (0 with an existing Dask scheduler).

    More processes than cores only adds memory and scheduling overhead, and results do not depend on the
    count, so a larger request is capped; that is said once per process on stderr.
    """
    if engine == "dask" and scheduler:
        return 0
    cores = default_workers()
    if workers is None:
        return cores
    if workers > cores:
        if (workers, cores) not in _told:
            _told.add((workers, cores))
            print(
                f"alignsim: --workers {workers} is more than the {cores} cores available; running {cores} workers",
                file=sys.stderr,
            )
        return cores
    return workers


def check_engine(engine: str, workers: int | None, scheduler: str | None) -> None:
    """Validate engine options before anything is written.

    Raises:
        UserError: unknown engine, bad worker count, or a scheduler without ``--engine dask``.
    """
    if engine not in ENGINES:
        raise UserError(f"option --engine: got {engine!r}; allowed: one of {', '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise UserError(f"option --workers: got {workers}; allowed: an integer >= 1")
    if scheduler and engine != "dask":
        raise UserError(f"option --scheduler: got {scheduler!r}; allowed: only with --engine dask")
    if engine == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UserError(
                "option --engine: got 'dask'; allowed: 'local' (dask.distributed is not installed)"
            ) from None


@contextlib.contextmanager
def open_executor(
    engine: str = "local", workers: int | None = None, scheduler: str | None = None
) -> Iterator[tuple[Executor, int]]:
    """Yield ``(executor, parallelism)`` and shut the engine down afterwards.

    Args:
        engine: "local" or "dask".
        workers: number of worker processes (local and LocalCluster); default all cores.
        scheduler: address of an existing Dask scheduler (dask only).
    """
    check_engine(engine, workers, scheduler)
    if engine == "local":
        n = workers or default_workers()
        pool = _STARTED.pop(n, None) or spawn_pool(n, init_worker)
        try:
            yield pool, n
        except BaseException:
            stop_pool(pool)
            raise
        pool.shutdown(wait=True)
        return
    with _dask_executor(workers, scheduler) as pair:
        yield pair


def spawn_pool(n: int, initializer: Callable[[int], None], start_now: bool = False) -> ProcessPoolExecutor:
    """A pool of ``n`` spawned processes, each starting with ``initializer(driver pid)``.

    Args:
        n: processes.
        initializer: run first in each process, given this process's pid (see :func:`worker.follow_driver`).
        start_now: spawn every process now (a pool spawns one per submission it cannot hand to an idle
            process), so their imports overlap what this process does next.
    """
    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=initializer,
        initargs=(os.getpid(),),
    )
    if start_now:
        for _ in range(n):
            pool.submit(os.getpid)
    return pool


@contextlib.contextmanager
def started_early(engine: str, workers: int | None, scheduler: str | None) -> Iterator[None]:
    """Start the local pool's workers now, for the :func:`open_executor` call inside the block to use.

    A worker spends its first 1-2 s importing the model and loading the compiled kernels; started
    before the driver's own imports and checks, it does that meanwhile (``benchmarks/README.md``,
    "Workers started early, charts rendered in parallel"). Invalid options start nothing (the
    checks inside the block say why); a pool still unused when the block ends (bad input found
    meanwhile, nothing left to run) is stopped, so no process outlives the block.
    """
    try:
        check_engine(engine, workers, scheduler)
    except UserError:
        yield
        return
    n = worker_count(engine, workers, scheduler) if engine == "local" else 0
    if n < 1 or n in _STARTED:
        yield
        return
    pool = spawn_pool(n, init_worker, start_now=True)
    _STARTED[n] = pool
    try:
        yield
    finally:
        if _STARTED.get(n) is pool:
            del _STARTED[n]
            stop_pool(pool)


def stop_pool(pool: ProcessPoolExecutor, grace: float = 3.0) -> None:
    """Cancel what has not started and end the workers now: SIGTERM, then SIGKILL after ``grace`` seconds."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError, AssertionError):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)


@contextlib.contextmanager
def _dask_executor(workers: int | None, scheduler: str | None) -> Iterator[tuple[Executor, int]]:
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(Client(scheduler))
        else:
            n = workers or default_workers()
            cluster = stack.enter_context(
                LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            )
            client = stack.enter_context(Client(cluster))
        threads = sum(client.nthreads().values()) or 1
        executor = client.get_executor(pure=False)
        try:
            yield executor, threads
        finally:
            executor.shutdown(wait=False)
